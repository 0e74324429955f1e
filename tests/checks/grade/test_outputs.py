"""grades.csv, Gradescope's results.json, and the outcome cache."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tests.checks.grade.conftest import NO_TASK_B, SYMBOLS, document, entry

from handgrad.checks.grade.doctor import from_document
from handgrad.checks.grade.outputs import (
    cached_outcome,
    grades_csv,
    gradescope_results,
    save_outcome,
)
from handgrad.checks.grade.rubric import parse_rubric
from handgrad.checks.grade.runner import Outcome
from handgrad.checks.grade.scoring import score_submission

POINTS = {"b2B": 1.0, "theta2A": 2.0}
RUBRIC = parse_rubric({"partial": {"no_task_b_term": 0.5}})


def _grades():
    report = from_document(document(entry("b2B"), entry("theta2A", "wrong", **NO_TASK_B)))
    return [
        score_submission("ann.py", report, "", POINTS, RUBRIC, seconds=1.25),
        score_submission("bob", None, "stopped at the CPU-time limit of 60 s", POINTS, RUBRIC),
    ]


def test_grades_csv_has_one_row_per_submission() -> None:
    rows = list(csv.DictReader(io.StringIO(grades_csv(_grades(), list(POINTS)))))
    assert list(rows[0]) == ["submission", "b2B", "theta2A", "total", "max", "status", "reason"]
    assert rows[0] == {
        "submission": "ann.py", "b2B": "1", "theta2A": "1", "total": "2", "max": "3",
        "status": "graded", "reason": "",
    }  # fmt: skip
    assert rows[1]["total"] == "0" and rows[1]["status"] == "failed"
    assert rows[1]["reason"] == "stopped at the CPU-time limit of 60 s"


def test_gradescope_results() -> None:
    ann, bob = (gradescope_results(g, SYMBOLS) for g in _grades())
    assert ann["score"] == 2 and ann["execution_time"] == 1.25
    assert [t["name"] for t in ann["tests"]] == ["b2B: ∂L/∂b₂B", "theta2A: ∂L/∂θ₂A"]
    assert [(t["score"], t["max_score"]) for t in ann["tests"]] == [(1, 1), (1, 2)]
    assert "no_task_b_term" in ann["tests"][1]["output"]
    assert bob["score"] == 0 and "CPU-time limit" in bob["output"]
    assert all("CPU-time limit" in t["output"] for t in bob["tests"])


def test_an_outcome_is_reused_only_under_its_key(tmp_path: Path) -> None:
    outcome = Outcome("ann.py", "k1", document(entry("b2B")), "", 2.0)
    save_outcome(tmp_path, outcome)
    assert cached_outcome(tmp_path, "ann.py", "k1") == outcome
    assert cached_outcome(tmp_path, "ann.py", "k2") is None
    assert cached_outcome(tmp_path, "bob", "k1") is None
    (tmp_path / "submissions" / "ann.py" / "outcome.json").write_text("{half")
    assert cached_outcome(tmp_path, "ann.py", "k1") is None
