"""Points and feedback per formula: full, partial, zero; hints that never give the answer."""

from __future__ import annotations

import pytest
from tests.checks.grade.conftest import NO_TASK_B, document, entry

from handgrad.checks.grade.doctor import from_document
from handgrad.checks.grade.rubric import Rubric, parse_rubric
from handgrad.checks.grade.scoring import FAILED, GRADED, score_submission

POINTS = {"b2B": 1.0, "theta2A": 2.0, "b2A": 1.0, "theta1B": 1.0}


def _report():
    return from_document(
        document(
            entry("b2B"),
            entry("theta2A", "wrong", **NO_TASK_B),
            entry("b2A", "error"),
            entry("theta1B", "not_given"),
        )
    )


def test_points_per_status() -> None:
    g = score_submission("a.py", _report(), "", POINTS, Rubric())
    assert g.status == GRADED and g.reason == ""
    assert [(m.name, m.score, m.max_score, m.status) for m in g.marks] == [
        ("b2B", 1.0, 1.0, "ok"),
        ("theta2A", 0.0, 2.0, "wrong"),
        ("b2A", 0.0, 1.0, "error"),
        ("theta1B", 0.0, 1.0, "not_given"),
    ]
    assert (g.total, g.max_score) == (1.0, 5.0)
    assert g.mistakes == {"no_task_b_term"}
    assert g.marks[2].output == "error: ValueError: boom (line 3)"


def test_a_formula_missing_from_the_report_is_not_given() -> None:
    g = score_submission("a.py", _report(), "", {"theta1A": 1.0}, Rubric())
    assert (g.marks[0].status, g.marks[0].score) == ("not_given", 0.0)


def test_partial_credit_by_mistake() -> None:
    rubric = parse_rubric({"partial": {"no_task_b_term": 0.25}})
    g = score_submission("a.py", _report(), "", POINTS, rubric)
    assert g.marks[1].score == 0.5 and "partial credit 25%" in g.marks[1].output


def test_a_submission_that_did_not_run_scores_zero_with_its_reason() -> None:
    g = score_submission("a.py", None, "stopped at the CPU-time limit", POINTS, Rubric())
    assert g.status == FAILED and g.reason == "stopped at the CPU-time limit"
    assert g.total == 0 and g.max_score == 5
    assert all(m.status == FAILED and "CPU-time" in m.output for m in g.marks)


@pytest.mark.parametrize(
    "level, shown, hidden",
    [
        ("none", [], ["relative error", "(0, 2)", "no_task_b_term", "θ2Bᵀ"]),
        ("where", ["relative error 0.7", "worst entries (0, 2), (1, 2)"], ["no_task_b", "θ2Bᵀ"]),
        ("mistake", ["(0, 2)", "mistake no_task_b_term", "lacks its task-B term"], ["θ2Bᵀ"]),
        ("fix", ["no_task_b_term", "fix: add (1/m) θ2Bᵀ(ŷB − yB)"], []),
    ],
)
def test_hint_levels(level: str, shown: list[str], hidden: list[str]) -> None:
    rubric = parse_rubric({"hints": {"level": level}})
    out = score_submission("a.py", _report(), "", POINTS, rubric).marks[1].output
    assert out.startswith("wrong")
    for text in shown:
        assert text in out
    for text in hidden:  # by default never the reference formula, nor the fix
        assert text not in out


def test_own_hint_wording_and_inherited_errors() -> None:
    report = from_document(
        document(
            entry("theta1B", "wrong", mistake="bn_factor+relu_as_step"),
            entry("b2A", "wrong", inherits="theta1B"),
            entry("b2B", "wrong"),
        )
    )
    rubric = parse_rubric(
        {"hints": {"text": {"bn_factor": "mind BN*", "relu_as_step": "mind ReLU"}}}
    )
    marks = score_submission("a.py", report, "", {"theta1B": 1, "b2A": 1, "b2B": 1}, rubric).marks
    assert "mistake bn_factor+relu_as_step: mind BN*; mind ReLU" in marks[0].output
    assert "inherits the error of ∂L/∂θ₁B" in marks[1].output
    assert "no known mistake" not in marks[1].output
    assert "no known mistake matches" in marks[2].output  # an honest unknown
