"""Reports in other notations, by other hands: each equation judged right or reported as
unreadable with its reason, never read wrongly into a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import handgrad
from handgrad.checks.report import check_report, read_report
from handgrad.cli import main
from handgrad.errors import HandgradError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
HEAD = "# Block Two\n\n"


def _rows(text: str, **kw):
    check = check_report(HEAD + text, **kw)
    return check, {r.reading.where: r for r in check.rows}


def test_nabla_w_and_row_vectors_read_right():
    check, rows = _rows(
        r"$$\nabla_{W_{2B}} L = \frac{1}{m}\sum_{i=1}^m (\hat{y}_B^i - y_B^i)"
        r"(x_\oplus^i)^T \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial x_{\oplus}^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i)^T W_{2B}"
        r" \tag{2}$$"
    )
    assert [rows[k].verdict.status for k in ("eq. (1)", "eq. (2)")] == ["ok", "ok"]
    assert check.exit_code == 0


def test_batch_matrices_are_not_read_as_vectors():
    _, rows = _rows(
        r"$$\frac{\partial L}{\partial W_{2B}} = \frac{1}{m}(\hat{Y}_B - Y_B)^T X_\oplus \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict is None and "`\\hat{Y}_{B}` is not defined" in row.reading.reason


def test_a_real_transpose_is_the_learners_mistake():
    _, rows = _rows(
        r"$$\frac{\partial L}{\partial W_{2B}} = \frac{1}{m}\sum_{i=1}^m x_\oplus^i"
        r"(\hat{y}_B^i - y_B^i)^T \tag{1}$$"
    )
    assert rows["eq. (1)"].verdict.mistake == "transpose"


def test_an_undefined_symbol_is_named_and_the_rest_is_still_checked():
    check, rows = _rows(
        r"$$\frac{\partial L}{\partial b_{2B}} = \frac{1}{m}\sum_{i=1}^m \Xi^i \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial z_{2B}^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i) \tag{2}$$"
    )
    assert rows["eq. (1)"].reading.reason.endswith(
        "`\\Xi` is not defined; add it to the notation file"
    )
    assert rows["eq. (2)"].verdict.status == "ok"
    assert check.counts["unreadable"] == 1


def test_the_first_line_where_a_chain_breaks_is_named():
    _, rows = _rows(
        r"$$\begin{aligned} \frac{\partial L}{\partial b_{2B}} &= \frac{1}{m}\sum_{i=1}^m"
        r"(\hat{y}_B^i - y_B^i) \\ &= \sum_{i=1}^m (\hat{y}_B^i - y_B^i) \\"
        r" &= \sum_{i=1}^m (\hat{y}_B^i - y_B^i) \end{aligned} \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict.status == "wrong"
    assert "line 2: the equality breaks here" in row.reading.notes


def test_a_notation_file_maps_symbols(tmp_path):
    notation = tmp_path / "n.toml"
    notation.write_text('problem = "multitask"\n[symbols]\n"g" = "z2B"\n')
    text = r"$$\frac{\partial L}{\partial g^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i) \tag{1}$$"
    rows = {r.reading.where: r for r in check_report(text, notation=notation).rows}
    assert rows["eq. (1)"].verdict.status == "ok"


@pytest.mark.parametrize(
    ("content", "message"),
    [("[symbols]\nx = 1\n", "write \\[symbols\\]"), ("[symbols\n", "not a readable TOML")],
)
def test_bad_notation_files_are_one_line_errors(tmp_path, content, message):
    notation = tmp_path / "n.toml"
    notation.write_text(content)
    with pytest.raises(HandgradError, match=message):
        read_report(HEAD + "$$a = b$$", notation=notation)


def test_no_gradient_equation_is_an_error():
    with pytest.raises(HandgradError, match="no gradient equation found"):
        check_report("# Notes\n\n$a = b$ only")


def test_the_examples_have_one_mistake_each():
    for name, where in (("report_mistake.md", "eq. (5)"), ("report_mistake.ipynb", "eq. (3)")):
        check = handgrad.check_report(EXAMPLES / name)
        roots = [
            r.reading.where
            for r in check.rows
            if r.verdict is not None and r.verdict.status == "wrong" and r.verdict.inherits is None
        ]
        assert roots == [where], (name, str(check))


def test_cli_text_json_html_and_exit_codes(capsys, tmp_path):
    path = EXAMPLES / "report_mistake.md"
    assert main(["check", "report", str(path)]) == 1
    assert "eq. (5)" in capsys.readouterr().out
    assert main(["check", "report", str(path), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "handgrad.report/1"
    assert {e["status"] for e in doc["equations"]} == {"ok", "wrong"}
    assert main(["check", "report", str(path), "--format", "html"]) == 1
    page = capsys.readouterr().out
    assert "<math" in page and page.count("<svg") == 2  # a heatmap per wrong equation
    assert main(["check", "report", str(tmp_path / "none.md")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1


def test_a_jacobian_by_cases_is_judged_entry_by_entry():
    text = (
        "# Softmax\n\n"
        r"$$\frac{\partial y_i}{\partial x_i} = y_i \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial y_i}{\partial x_j} = -y_i y_j \tag{2}$$"
    )
    rows = {r.reading.where: r for r in check_report(text).rows}
    assert rows["eq. (1)"].verdict.status == rows["eq. (2)"].verdict.status == "wrong"
    worst = rows["eq. (1)"].verdict.worst_entries
    assert worst and all(i == k for _, i, k in worst)  # only the diagonal is wrong


def test_a_sum_over_the_other_samples_is_kept():
    _, rows = _rows(
        r"$$\frac{\partial L}{\partial z_{2B}^i} = \frac{1}{m}\sum_{j=1}^m (\hat{y}_B^j - y_B^j)"
        r" \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict.status == "wrong"  # every row gets the batch sum: the learner's slip
    assert not any("stands in front" in n for n in row.reading.notes)


def test_prose_joins_a_gradient_and_a_value_only_when_it_says_so():
    text = (
        r"$$\frac{\partial L}{\partial z_{2B}^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i) \tag{1}$$"
        "\n\n"
        r"We compute $\frac{\partial L}{\partial b_{2B}}$ using $\hat{y}_B^i - y_B^i$."
        "\n\n"
        r"And $\frac{\partial L}{\partial b_{2B}}$ is $\sum_{i=1}^m \hat{y}_B^i - y_B^i$."
    )
    rows = check_report(HEAD + text).rows
    assert [(r.reading.where, r.reading.quantity) for r in rows] == [
        ("eq. (1)", "z2B"),
        ("line 7", "b2B"),
    ]


def test_a_graders_reading_runs_no_notebook_code():
    reading = read_report(EXAMPLES / "report_mistake.ipynb", run_code=False)
    assert reading.code is None
    assert set(reading.formulas()["batchnorm"]) == {"gamma", "beta", "x"}


def test_a_gradient_on_a_right_side_is_the_reports_own_earlier_formula():
    _, rows = _rows(
        r"$$\frac{\partial L}{\partial z_{2B}^i} = (\hat{y}_B^i - y_B^i) \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial W_{2B}} = \sum_{i=1}^m \frac{\partial L}{\partial z_{2B}^i}"
        r"(x_\oplus^i)^T \tag{2}$$"
        "\n\n"
        r"$$\delta_{b_{2B}} = \sum_{i=1}^m \delta_{z_{2B}^i} \tag{3}$$"
    )
    assert rows["eq. (1)"].verdict.mistake == "no_1_over_m"
    for eq in ("eq. (2)", "eq. (3)"):
        v = rows[eq].verdict
        assert v.status == "wrong" and v.inherits == "z2B", (eq, v)
        assert any("report's own formula" in n for n in rows[eq].reading.notes)


def test_an_equation_under_another_layers_heading_is_read_where_its_symbols_are():
    text = (
        "# The dropout layer\n\n"
        r"$$\frac{\partial L}{\partial x_{1A}^i} = \frac{\partial L}{\partial x_{DP}^i} \odot M^i"
        r" \tag{1}$$"
    )
    (row,) = check_report(text).rows
    assert row.reading.problem == "dropout" and row.verdict is None  # x_DP: not in dropout
    text = text.replace(
        r"\frac{\partial L}{\partial x_{DP}^i}", r"\theta_{2A}^T (\hat{y}_A^i - y_A^i)"
    )
    (row,) = check_report(text).rows
    assert row.reading.problem == "multitask" and row.verdict.status == "wrong"
    assert any("names dropout" in n for n in row.reading.notes)


def test_a_latex_file_is_read_with_its_equation_numbers(tmp_path):
    path = tmp_path / "r.tex"
    path.write_text(
        "\\section{Block Two}\n"
        "\\begin{equation}\\frac{\\partial L}{\\partial z_{2B}^i} = "
        "\\frac{1}{m}(\\hat{y}_B^i - y_B^i)\\end{equation}\n"
        "\\begin{align}\\frac{\\partial L}{\\partial b_{2B}} &= "
        "\\sum_{i=1}^m \\frac{1}{m}(\\hat{y}_B^i - y_B^i)\\end{align}\n"
    )
    rows = check_report(path).rows
    assert [(r.reading.where, r.verdict.status) for r in rows] == [
        ("eq. (1)", "ok"),
        ("eq. (2)", "ok"),
    ]


def test_a_jacobian_half_alone_is_not_guessed_and_a_kronecker_delta_is_read():
    half = "# Softmax\n\n" + r"$$\frac{\partial y_i}{\partial x_j} = -y_i y_j \tag{1}$$"
    (row,) = check_report(half).rows
    assert row.verdict is None and "only one half" in row.reading.reason
    whole = "# Softmax\n\n" + r"$$\frac{\partial y_i}{\partial x_j} = y_i(\delta_{ij} - y_j)$$"
    (row,) = check_report(whole).rows
    assert row.verdict.status == "ok"


def test_a_gradient_written_entry_by_entry_is_read_per_entry():
    _, rows = _rows(
        r"$$\frac{\partial L}{\partial z_{2B,j}^i} = \frac{1}{m}(\hat{y}_{B,j}^i - y_{B,j}^i)"
        r" \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial z_{2B,j}^i} = \frac{1}{m}\hat{y}_{B,j}^i \tag{2}$$"
    )
    assert rows["eq. (1)"].verdict.status == "ok"
    assert rows["eq. (2)"].verdict.status == "wrong"
    assert any("entry by entry" in n for n in rows["eq. (1)"].reading.notes)


def test_row_vectors_with_weights_stored_in_out_are_not_called_a_transpose():
    _, rows = _rows(
        r"$$\frac{\partial L}{\partial W_{2B}} = \frac{1}{m}\sum_{i=1}^m (x_\oplus^i)^T"
        r"(\hat{y}_B^i - y_B^i) \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict is None and "(in, out)" in row.reading.reason


def test_a_layers_own_derivative_is_used_only_where_the_layer_is_elementwise():
    text = (
        "# Batch normalization\n\n"
        r"$$\frac{\partial y_i}{\partial x_i} = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}}$$"
        "\n\n"
        r"$$\frac{\partial y_i}{\partial \gamma} = \hat{x}_i$$"
    )
    coupled, gamma = check_report(text).rows
    assert coupled.verdict is None and "the samples are coupled" in coupled.reading.reason
    assert gamma.verdict.status == "ok"
