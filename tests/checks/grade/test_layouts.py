"""A class as LMS exports lay it out, graded end to end in the sandbox."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from handgrad.checks.grade import Limits, Rubric, grade_class
from handgrad.checks.grade.demo import learner_source
from handgrad.checks.grade.outputs import csv_cell

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap"),
]


def _notebook(source: str) -> str:
    head, _, rest = source.partition("\n\n\ndef ")
    cells = ["!pip install numpy\n" + head, "%%time\nprint('timing')", "def " + rest]
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"language": "python"}},
            "cells": [
                {"cell_type": "code", "source": c, "metadata": {}, "outputs": []} for c in cells
            ],
        }
    )


def test_lms_layouts_notebooks_bom_and_odd_names(tmp_path: Path) -> None:
    right = learner_source(frozenset())
    subs = tmp_path / "subs"
    moodle = subs / "Jane Doe_123_assignsubmission_file_" / "hw3"
    moodle.mkdir(parents=True)
    helper, _, rest = right.partition("\n\ndef d_xplus")
    (moodle / "helpers.py").write_text(helper + "\n")
    (moodle / "formulas.py").write_text(
        "import numpy as np\nfrom helpers import relu_prime\n\n\ndef d_xplus" + rest
    )
    (moodle / "plots.py").write_text("import numpy as np\nX = 1\n")  # no formulas: not graded
    (subs / "-rf.py").write_text("\ufeff" + right)
    (subs / "smithjohn_12345_67890_hw3.ipynb").write_text(_notebook(right))
    gradescope = subs / "submission_42"
    gradescope.mkdir()
    (gradescope / "formulas.py").write_text(right)
    (gradescope / "submission_metadata.yml").write_text("id: 42\n")
    (subs / "report.pdf").write_bytes(b"%PDF-1.4")
    rubric = Rubric(problem="multitask", limits=Limits(wall_seconds=60, cpu_seconds=10))
    result = grade_class(subs, tmp_path / "out", rubric=rubric, jobs=2)
    with open(result.csv, newline="") as f:
        rows = {r["submission"]: r for r in csv.DictReader(f)}
    for name in (
        "Jane Doe_123_assignsubmission_file_",
        "-rf.py",
        "smithjohn_12345_67890_hw3.ipynb",
        "submission_42",
    ):
        row = rows[csv_cell(name)]  # "-rf.py" is "'-rf.py" in the CSV: never a formula
        assert (row["total"], row["status"]) == ("8", "graded"), row
    assert rows["report.pdf"]["status"] == "failed" and rows["report.pdf"]["reason"]


def test_written_reports_are_graded_with_their_unreadable_equations_noted(tmp_path: Path):
    examples = Path(__file__).resolve().parents[3] / "examples"
    subs = tmp_path / "subs"
    (subs / "cy").mkdir(parents=True)
    shutil.copy(examples / "report_mistake.md", subs / "ann.md")
    (subs / "cy" / "README.md").write_text("# My homework\nSee formulas.py.\n")  # no ∂
    (subs / "cy" / "formulas.py").write_text(learner_source(frozenset()))
    markdown = (examples / "report_mistake.md").read_text()
    (subs / "eve.ipynb").write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {"cell_type": "markdown", "source": markdown, "metadata": {}},
                    {
                        "cell_type": "code",
                        "source": "print('no formulas here')",
                        "metadata": {},
                        "outputs": [],
                    },
                ],
            }
        )
    )
    (subs / "dee.md").write_text(
        "$$\\frac{\\partial L}{\\partial b_{2B}} = \\Xi \\sum_{i=1}^m (\\hat y_B^i - y_B^i)$$\n"
    )
    rubric = Rubric(problem="multitask", limits=Limits(wall_seconds=60, cpu_seconds=30))
    result = grade_class(subs, tmp_path / "out", rubric=rubric, jobs=2)
    grades = {g.name: g for g in result.summary.grades}
    assert grades["cy"].total == 8  # the code, not the README
    ann = grades["ann.md"]
    assert ann.status == "graded" and 0 < ann.total < 8  # its one mistake costs points
    assert grades["eve.ipynb"].total == ann.total  # the same derivation, in a notebook
    dee = json.loads((tmp_path / "out" / "submissions" / "dee.md" / "results.json").read_text())
    assert grades["dee.md"].total == 0 and "Xi" in dee["output"]  # unread, and said why


def test_a_report_built_to_exhaust_its_reader_gets_the_limit_as_its_reason(tmp_path: Path):
    subs = tmp_path / "subs"
    subs.mkdir()
    terms = " + ".join([r"y_i(\delta_{ij} - y_j)"] * 100_000)
    (subs / "long.md").write_text(
        f"# Softmax\n\n$$\\frac{{\\partial y_i}}{{\\partial z_j}} = {terms} \\tag{{1}}$$\n"
    )
    rubric = Rubric(problem="softmax", limits=Limits(wall_seconds=60, cpu_seconds=2))
    result = grade_class(subs, tmp_path / "out", rubric=rubric, jobs=1)
    (grade,) = result.summary.grades
    assert grade.status == "failed"
    assert "reading the report: stopped at the CPU-time limit of 2 s" in grade.reason
