"""Scoring a class from its outcomes: the class's problem, its formulas, the rubric's points."""

from __future__ import annotations

import pytest
from tests.checks.grade.conftest import NO_TASK_B, document, entry
from tests.conftest import one_line_error

from handgrad.checks.grade.class_report import write_class_report
from handgrad.checks.grade.grader import score_class
from handgrad.checks.grade.outputs import write_grades
from handgrad.checks.grade.rubric import Rubric, check_rubric, parse_rubric
from handgrad.checks.grade.runner import Outcome
from handgrad.errors import HandgradError


def _outcomes() -> list[Outcome]:
    return [
        Outcome(
            "ann.py",
            "",
            document(
                entry("b2B"), entry("theta2A", "wrong", **NO_TASK_B), entry("b2A", "not_given")
            ),
        ),
        Outcome("bob.py", "", document(entry("b2B"), entry("theta2A"), entry("b2A", "not_given"))),
        Outcome("cy.py", "", document(entry("gamma"), problem="batchnorm")),
        Outcome("dee.py", "", None, "stopped at the CPU-time limit of 60 s (an endless loop?)"),
    ]


PARAMETERS = ("b2B", "theta2B", "b1B", "theta1B", "b2A", "theta2A", "b1A", "theta1A")


def test_the_class_problem_and_its_parameters() -> None:
    s = score_class(_outcomes(), Rubric(), None)
    assert s.problem == "multitask"  # what most submissions are
    assert s.formulas == PARAMETERS  # by default, the problem's parameters, whoever answered
    grades = {g.name: g for g in s.grades}
    assert (grades["ann.py"].total, grades["bob.py"].total, grades["dee.py"].total) == (1, 2, 0)
    assert grades["cy.py"].status == "failed"
    assert "checked as problem 'batchnorm'" in grades["cy.py"].reason
    assert "CPU-time" in grades["dee.py"].reason
    assert s.full_marks == 0 and (s.checked, s.failed) == (2, 2)
    (mistake,) = s.mistakes
    assert (mistake.mistake, mistake.submissions, mistake.fraction) == (
        "no_task_b_term", ("ann.py",), 0.5,
    )  # fmt: skip
    assert mistake.formulas == ("theta2A",) and "task-B term" in mistake.explanation
    counts = {c.name: c.counts for c in s.formula_counts}
    assert counts["theta2A"]["wrong"] == 1 and counts["theta2B"]["not_given"] == 2


def test_rubric_points_choose_the_formulas() -> None:
    s = score_class(_outcomes(), parse_rubric({"points": {"b2A": 3, "b2B": 1}}), None)
    assert s.formulas == ("b2A", "b2B")
    assert [g.max_score for g in s.grades] == [4, 4, 4, 4]
    with pytest.raises(HandgradError) as e:
        check_rubric(parse_rubric({"points": {"thetaX": 1}}), "multitask")
    one_line_error(e, "points.thetaX", "did you mean 'theta2B'?", "theta1A")


def test_a_submission_cannot_change_the_maximum_by_defining_more_formulas() -> None:
    extra = [entry(q, "wrong") for q in ("z2B", "xplus", "xBN", "x1B", "yhatA", "xDP")]
    cheat = Outcome("zed.py", "", document(entry("b2B"), *extra))
    honest = score_class(_outcomes(), Rubric(), "multitask")
    with_cheat = score_class([*_outcomes(), cheat], Rubric(), "multitask")
    assert with_cheat.formulas == honest.formulas
    before = {g.name: (g.total, g.max_score) for g in honest.grades}
    after = {g.name: (g.total, g.max_score) for g in with_cheat.grades if g.name in before}
    assert after == before


def test_a_class_where_nothing_ran_still_gets_its_files(tmp_path) -> None:
    outcomes = [Outcome("ann.py", "", None, "not valid Python"), Outcome("bob", "", None, "empty")]
    s = score_class(outcomes, Rubric(), None)
    assert s.problem == "unknown" and s.formulas == () and s.checked == 0
    assert write_grades(tmp_path, s.grades, s.formulas, s.symbols).read_text().count("\n") == 3
    page = write_class_report(tmp_path, s).read_text()
    assert "No submission could be checked" in page and "not valid Python" in page
