"""Reading gradient equations into formulas: conventions, chains, Jacobians, sums, and
what is refused rather than guessed."""

from __future__ import annotations

from handgrad.checks.report import check_report

from .reports import checked


def test_the_first_line_where_a_chain_breaks_is_named():
    _, rows = checked(
        r"$$\begin{aligned} \frac{\partial L}{\partial b_{2B}} &= \frac{1}{m}\sum_{i=1}^m"
        r"(\hat{y}_B^i - y_B^i) \\ &= \sum_{i=1}^m (\hat{y}_B^i - y_B^i) \\"
        r" &= \sum_{i=1}^m (\hat{y}_B^i - y_B^i) \end{aligned} \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict.status == "wrong"
    assert "line 2: the equality breaks here" in row.reading.notes


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
    _, rows = checked(
        r"$$\frac{\partial L}{\partial z_{2B}^i} = \frac{1}{m}\sum_{j=1}^m (\hat{y}_B^j - y_B^j)"
        r" \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict.status == "wrong"  # every row gets the batch sum: the learner's slip
    assert not any("stands in front" in n for n in row.reading.notes)


def test_a_gradient_on_a_right_side_is_the_reports_own_earlier_formula():
    _, rows = checked(
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


def test_a_jacobian_half_alone_is_not_guessed_and_a_kronecker_delta_is_read():
    half = "# Softmax\n\n" + r"$$\frac{\partial y_i}{\partial x_j} = -y_i y_j \tag{1}$$"
    (row,) = check_report(half).rows
    assert row.verdict is None and "only one half" in row.reading.reason
    whole = "# Softmax\n\n" + r"$$\frac{\partial y_i}{\partial x_j} = y_i(\delta_{ij} - y_j)$$"
    (row,) = check_report(whole).rows
    assert row.verdict.status == "ok"


def test_a_gradient_written_entry_by_entry_is_read_per_entry():
    _, rows = checked(
        r"$$\frac{\partial L}{\partial z_{2B,j}^i} = \frac{1}{m}(\hat{y}_{B,j}^i - y_{B,j}^i)"
        r" \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial z_{2B,j}^i} = \frac{1}{m}\hat{y}_{B,j}^i \tag{2}$$"
    )
    assert rows["eq. (1)"].verdict.status == "ok"
    assert rows["eq. (2)"].verdict.status == "wrong"
    assert any("entry by entry" in n for n in rows["eq. (1)"].reading.notes)


def test_row_vectors_with_weights_stored_in_out_are_not_called_a_transpose():
    _, rows = checked(
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


def test_nabla_w_and_row_vectors_read_right():
    check, rows = checked(
        r"$$\nabla_{W_{2B}} L = \frac{1}{m}\sum_{i=1}^m (\hat{y}_B^i - y_B^i)"
        r"(x_\oplus^i)^T \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial x_{\oplus}^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i)^T W_{2B}"
        r" \tag{2}$$"
    )
    assert [rows[k].verdict.status for k in ("eq. (1)", "eq. (2)")] == ["ok", "ok"]
    assert check.exit_code == 0


def test_batch_matrices_are_not_read_as_vectors():
    _, rows = checked(
        r"$$\frac{\partial L}{\partial W_{2B}} = \frac{1}{m}(\hat{Y}_B - Y_B)^T X_\oplus \tag{1}$$"
    )
    row = rows["eq. (1)"]
    assert row.verdict is None and "`\\hat{Y}_{B}` is not defined" in row.reading.reason


def test_a_real_transpose_is_the_learners_mistake():
    _, rows = checked(
        r"$$\frac{\partial L}{\partial W_{2B}} = \frac{1}{m}\sum_{i=1}^m x_\oplus^i"
        r"(\hat{y}_B^i - y_B^i)^T \tag{1}$$"
    )
    assert rows["eq. (1)"].verdict.mistake == "transpose"


def test_a_jacobian_written_twice_is_read_twice_and_the_first_is_graded():
    """A restated (or hedged) δ equation is judged on its own, never called a half whose
    partner is missing; a half left over after pairing says so; the first readable
    equation is the answer graded."""
    text = (
        "# Softmax\n\n"
        r"$$\frac{\partial y_i}{\partial z_j} = y_i(\delta_{ij} + y_j) \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial y_i}{\partial z_j} = y_i(\delta_{ij} - y_j) \tag{2}$$"
        "\n\n"
        r"$$\frac{\partial y_i}{\partial z_i} = y_i(1 - y_i) \tag{3}$$"
    )
    check, rows = checked(text)
    assert rows["eq. (1)"].verdict.status == "wrong"
    assert rows["eq. (2)"].verdict.status == "ok"
    assert rows["eq. (3)"].verdict is None
    assert "only one half of the Jacobian" in rows["eq. (3)"].reading.reason
    doc = check.to_json()
    graded = {f["name"]: f["status"] for f in doc["problems"]["softmax"]["formulas"]}
    assert graded["J"] == "wrong"  # eq. (1): the first answer counts, not the best
