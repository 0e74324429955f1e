"""The grader's files: grades.csv, one Gradescope results.json per submission, the cache.

    OUT/grades.csv                          one row per submission: submission, one column
                                            per formula (points earned), total, max, status,
                                            reason (why it could not be graded)
    OUT/submissions/NAME/results.json       Gradescope's autograder format: score, output,
                                            execution_time, tests [{name, score, max_score,
                                            output}] (one test per formula)
    OUT/submissions/NAME/outcome.json       the doctor's document (or the reason), with the
                                            key it was made under: re-running skips NAME
                                            while the key matches

Every file is written with `handgrad.io.atomic_write`: a crash never leaves half a file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

from handgrad.checks.grade.runner import Outcome
from handgrad.checks.grade.scoring import SubmissionGrade
from handgrad.io import atomic_write

CSV_NAME = "grades.csv"
RESULTS_NAME = "results.json"
OUTCOME_NAME = "outcome.json"
SUBMISSIONS = "submissions"


def submission_dir(out: Path, name: str) -> Path:
    return out / SUBMISSIONS / name


def _write_json(path: Path, data: object) -> None:
    with atomic_write(path, "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def save_outcome(out: Path, outcome: Outcome) -> None:
    _write_json(submission_dir(out, outcome.name) / OUTCOME_NAME, outcome.to_json())


def cached_outcome(out: Path, name: str, key: str) -> Outcome | None:
    """The outcome saved for ``name`` if it was made under ``key`` (else None)."""
    path = submission_dir(out, name) / OUTCOME_NAME
    try:
        outcome = Outcome.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return outcome if outcome.key == key else None


def points_text(value: float) -> str:
    """Points as short text: 2, 0.5, 0.333."""
    return f"{value:.3g}" if not math.isclose(value, round(value)) else str(round(value))


def grades_csv(grades: Sequence[SubmissionGrade], formulas: Sequence[str]) -> str:
    """The text of grades.csv (see the module doc)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", *formulas, "total", "max", "status", "reason"])
    for g in grades:
        scores = {m.name: m.score for m in g.marks}
        writer.writerow(
            [
                g.name,
                *(points_text(scores[f]) for f in formulas),
                points_text(g.total),
                points_text(g.max_score),
                g.status,
                g.reason,
            ]
        )
    return buffer.getvalue()


def gradescope_results(grade: SubmissionGrade, symbols: dict[str, str]) -> dict:
    """One submission's results.json in Gradescope's autograder format."""
    summary = f"{points_text(grade.total)} / {points_text(grade.max_score)} points"
    if grade.reason:
        summary += f"; could not be graded: {grade.reason}"
    return {
        "score": round(grade.total, 6),
        "execution_time": round(grade.seconds, 3),
        "output": summary,
        "tests": [
            {
                "name": f"{m.name}: {symbols[m.name]}"
                if symbols.get(m.name, m.name) != m.name
                else m.name,
                "score": round(m.score, 6),
                "max_score": m.max_score,
                "output": m.output,
            }
            for m in grade.marks
        ],
    }


def write_grades(
    out: Path,
    grades: Sequence[SubmissionGrade],
    formulas: Sequence[str],
    symbols: dict[str, str],
) -> Path:
    """Write every results.json and grades.csv; returns the path of grades.csv."""
    for g in grades:
        _write_json(submission_dir(out, g.name) / RESULTS_NAME, gradescope_results(g, symbols))
    path = out / CSV_NAME
    with atomic_write(path, "w") as f:
        f.write(grades_csv(grades, formulas))
    return path
