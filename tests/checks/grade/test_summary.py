"""The class summary: mistakes counted and explained where they were made."""

from __future__ import annotations

from tests.checks.grade.conftest import NO_TASK_B, SYMBOLS, document, entry

from handgrad.checks.grade.doctor import from_document
from handgrad.checks.grade.rubric import parse_rubric
from handgrad.checks.grade.scoring import score_submission
from handgrad.checks.grade.summary import summarise

POINTS = {"theta2A": 1.0, "b2A": 1.0}


def test_an_inherited_mistake_is_counted_and_explained_where_it_was_made() -> None:
    heir = {
        "mistake": "no_task_b_term",
        "inherits": "theta2A",
        "explanation": "inherits the error of ∂L/∂θ₂A (re-run with the true ∂L/∂θ₂A, it is right)",
    }
    report = from_document(
        document(entry("theta2A", "wrong", **NO_TASK_B), entry("b2A", "wrong", **heir))
    )
    grade = score_submission("ann.py", report, "", POINTS, parse_rubric({}))
    s = summarise("multitask", [grade], {"ann.py": report}, list(POINTS), SYMBOLS)
    (count,) = s.mistakes
    assert count.mistake == "no_task_b_term" and count.submissions == ("ann.py",)
    assert count.formulas == ("theta2A",)
    assert count.explanation == NO_TASK_B["explanation"]
