"""Reports in other notations, by other hands: each equation judged right or reported as
unreadable with its reason, never read wrongly into a verdict."""

from __future__ import annotations

import pytest

import handgrad
from handgrad.checks.report import check_report, read_report
from handgrad.errors import HandgradError

from .reports import EXAMPLES, checked


def test_an_undefined_symbol_is_named_and_the_rest_is_still_checked():
    check, rows = checked(
        r"$$\frac{\partial L}{\partial b_{2B}} = \frac{1}{m}\sum_{i=1}^m \Xi^i \tag{1}$$"
        "\n\n"
        r"$$\frac{\partial L}{\partial z_{2B}^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i) \tag{2}$$"
    )
    assert rows["eq. (1)"].reading.reason.endswith(
        "`\\Xi` is not defined; add it to the notation file"
    )
    assert rows["eq. (2)"].verdict.status == "ok"
    assert check.counts["unreadable"] == 1


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


def test_a_graders_reading_runs_no_notebook_code():
    reading = read_report(EXAMPLES / "report_mistake.ipynb", run_code=False)
    assert reading.code is None
    assert set(reading.formulas()["batchnorm"]) == {"gamma", "beta", "x"}


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


def test_the_readme_shows_the_real_output_on_the_notebook(monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)
    readme = (EXAMPLES.parent / "README.md").read_text(encoding="utf-8")
    cmd = "$ handgrad check report examples/report_mistake.ipynb\n"
    shown = readme.split(cmd, 1)[1].split("```", 1)[0]
    assert str(check_report("examples/report_mistake.ipynb")) == shown.rstrip("\n")
