"""What a class got wrong: per-formula counts and the mistakes made most, as fractions.

A submission "made" a mistake when the doctor named it in at least one of its formulas
("no_task_b_term" in ∂L/∂θ2A and ∂L/∂b2A is one learner's one mistake); a pair
"bn_factor+relu_as_step" counts for both. Fractions are of the submissions the doctor
could check (a submission that did not run shows no mistakes, only its reason).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from handgrad.checks.grade.doctor import DoctorReport
from handgrad.checks.grade.scoring import FAILED, GRADED, SubmissionGrade

FORMULA_STATES = ("ok", "wrong", "error", "not_given", FAILED)


@dataclass(frozen=True)
class MistakeCount:
    """One mistake id: who made it, in which formulas, and the doctor's explanation of it."""

    mistake: str
    submissions: tuple[str, ...]
    formulas: tuple[str, ...]
    explanation: str
    fraction: float  # of the checked submissions


@dataclass(frozen=True)
class FormulaCount:
    """How the class did on one formula: submissions per state (`FORMULA_STATES`)."""

    name: str
    symbol: str
    counts: dict[str, int]

    @property
    def not_right(self) -> int:
        return sum(n for state, n in self.counts.items() if state != "ok")


@dataclass(frozen=True)
class ClassSummary:
    """The class at a glance (what class_report.html shows)."""

    problem: str
    formulas: tuple[str, ...]
    symbols: dict[str, str]
    grades: tuple[SubmissionGrade, ...]
    mistakes: tuple[MistakeCount, ...]  # most common first
    formula_counts: tuple[FormulaCount, ...]  # most often not right first

    @property
    def checked(self) -> int:
        return sum(g.status == GRADED for g in self.grades)

    @property
    def failed(self) -> int:
        return len(self.grades) - self.checked

    @property
    def full_marks(self) -> int:
        """How many submissions earned every point."""
        return sum(g.status == GRADED and math.isclose(g.total, g.max_score) for g in self.grades)


def summarise(
    problem: str,
    grades: Sequence[SubmissionGrade],
    reports: dict[str, DoctorReport],
    formulas: Sequence[str],
    symbols: dict[str, str],
) -> ClassSummary:
    """The class summary from every submission's grade and doctor report (by name)."""
    checked = [g for g in grades if g.status == GRADED]
    who: dict[str, list[str]] = {}
    where: dict[str, Counter[str]] = {}
    explanations: dict[str, Counter[str]] = {}
    for g in checked:
        for v in reports[g.name].verdicts:
            if v.inherits is not None:  # made upstream: counted, and explained, where it was made
                continue
            for k in v.mistakes:
                if g.name not in who.setdefault(k, []):
                    who[k].append(g.name)
                where.setdefault(k, Counter())[v.name] += 1
                if v.explanation:  # an explanation of this mistake alone says it best
                    weight = 1000 if v.mistakes == (k,) else 1
                    explanations.setdefault(k, Counter())[v.explanation] += weight
    mistakes = tuple(
        sorted(
            (
                MistakeCount(
                    k,
                    tuple(names),
                    tuple(f for f, _ in where[k].most_common()),
                    explanations[k].most_common(1)[0][0] if k in explanations else "",
                    len(names) / len(checked),
                )
                for k, names in who.items()
            ),
            key=lambda c: (-len(c.submissions), c.mistake),
        )
    )
    counts = []
    for f in formulas:
        states = Counter(next(m.status for m in g.marks if m.name == f) for g in grades)
        counts.append(FormulaCount(f, symbols.get(f, f), {s: states[s] for s in FORMULA_STATES}))
    order = sorted(counts, key=lambda c: (-c.not_right, formulas.index(c.name)))
    return ClassSummary(problem, tuple(formulas), symbols, tuple(grades), mistakes, tuple(order))
