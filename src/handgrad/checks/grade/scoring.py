"""Score a submission's verdicts with a rubric: points per formula and the feedback line.

A formula earns its full points when the doctor says "ok", a fraction of them when it
is "wrong" with a mistake the rubric gives partial credit for, and nothing when wrong
otherwise, "not_given", an "error", or when the whole submission could not be checked.
Its feedback says as much as the rubric's hint level allows (`rubric.HINT_LEVELS`):
right or wrong; where (relative error, worst entries, inherited upstream error); the
named mistake; the fix. It never shows the reference formula itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from handgrad.checks.grade.doctor import DoctorReport, Verdict
from handgrad.checks.grade.rubric import HINT_LEVELS, Rubric

GRADED = "graded"
FAILED = "failed"
LEVELS = tuple(HINT_LEVELS)  # from saying least to most


@dataclass(frozen=True)
class Mark:
    """One formula of one submission: points earned of ``max_score``, and the feedback."""

    name: str
    score: float
    max_score: float
    status: str  # the doctor's status, or "failed" when the submission could not be checked
    output: str
    mistakes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubmissionGrade:
    """A submission's marks; ``status`` `GRADED`, or `FAILED` with the ``reason``."""

    name: str
    status: str
    reason: str
    marks: tuple[Mark, ...]
    seconds: float = 0.0
    notes: tuple[str, ...] = ()  # what the doctor noted (a grad_ name it ignored, …)

    @property
    def total(self) -> float:
        return sum(m.score for m in self.marks)

    @property
    def max_score(self) -> float:
        return sum(m.max_score for m in self.marks)

    @property
    def mistakes(self) -> frozenset[str]:
        """Every mistake id the doctor named in any of this submission's formulas."""
        return frozenset(k for m in self.marks for k in m.mistakes)


def score_submission(
    name: str,
    report: DoctorReport | None,
    reason: str,
    points: dict[str, float],
    rubric: Rubric,
    seconds: float = 0.0,
) -> SubmissionGrade:
    """Mark every formula of ``points`` (name → points) from the doctor's ``report``.

    Without a report (``reason`` says why) every formula scores zero.
    """
    if report is None:
        marks = tuple(Mark(n, 0.0, p, FAILED, f"not checked: {reason}") for n, p in points.items())
        return SubmissionGrade(name, FAILED, reason, marks, seconds)
    marks = tuple(mark(report.verdict(n), n, p, rubric, report) for n, p in points.items())
    return SubmissionGrade(name, GRADED, "", marks, seconds, report.notes)


def mark(
    verdict: Verdict | None, name: str, points: float, rubric: Rubric, report: DoctorReport
) -> Mark:
    """The points and feedback of one formula (see the module doc)."""
    if verdict is None or verdict.status == "not_given":
        return Mark(name, 0.0, points, "not_given", "not given")
    if verdict.status == "ok":
        return Mark(name, points, points, "ok", "correct")
    if verdict.status == "error":
        return Mark(name, 0.0, points, "error", f"error: {verdict.error or 'unknown error'}")
    credit = rubric.credit(verdict.mistake, verdict.inherits)
    return Mark(
        name,
        points * credit,
        points,
        "wrong",
        feedback(verdict, rubric, report, credit),
        verdict.mistakes,
    )


def feedback(verdict: Verdict, rubric: Rubric, report: DoctorReport, credit: float) -> str:
    """What a learner is told about a wrong formula, at the rubric's hint level."""
    level = LEVELS.index(rubric.hint_level)
    parts = ["wrong"]
    if level >= LEVELS.index("where"):
        parts.extend(_where(verdict, report))
    if level >= LEVELS.index("mistake"):
        if verdict.mistake:
            parts.append(f"mistake {verdict.mistake}: {_mistake_text(verdict, rubric)}")
        elif not verdict.inherits:
            parts.append("no known mistake matches (compare it step by step with the derivation)")
    if level >= LEVELS.index("fix") and verdict.fix:
        parts.append(f"fix: {verdict.fix}")
    if 0 < credit:
        parts.append(f"partial credit {credit:.0%}")
    return "; ".join(parts)


def _where(verdict: Verdict, report: DoctorReport) -> list[str]:
    said = []
    if verdict.rel_error is not None:
        said.append(f"relative error {verdict.rel_error:.2g}")
    if verdict.worst_entries:
        entries = ", ".join(
            str(tuple(e)) if len(e) > 1 else str(e[0]) for e in verdict.worst_entries
        )
        said.append(f"worst entries {entries}")
    if verdict.inherits:
        upstream = report.verdict(verdict.inherits)
        said.append(f"inherits the error of {upstream.symbol if upstream else verdict.inherits}")
    return said


def _mistake_text(verdict: Verdict, rubric: Rubric) -> str:
    """The rubric's wording of the mistake (whole, or each part), else the doctor's.

    At hint level "fix" the doctor's explanation is shown whole (it may state the fix).
    """
    if rubric.hint_level == "fix" and verdict.explanation:
        return verdict.explanation
    if verdict.mistake in rubric.hint_text:
        return rubric.hint_text[verdict.mistake]
    if all(k in rubric.hint_text for k in verdict.mistakes):
        return "; ".join(rubric.hint_text[k] for k in verdict.mistakes)
    return verdict.explanation or "(no explanation given)"
