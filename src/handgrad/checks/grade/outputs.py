"""The grader's files: grades.csv, one Gradescope results.json per submission, the cache.

    OUT/grades.csv                          one row per submission: submission, one column
                                            per formula (points earned), total, max, status,
                                            reason (why it could not be graded)
    OUT/submissions/NAME/results.json       Gradescope's autograder format: score, output,
                                            execution_time, tests [{name, score, max_score,
                                            output}] (one test per formula)
    OUT/submissions/NAME/outcome.json       the doctor's document (or the reason), with the
                                            key it was made under: re-running skips NAME
                                            while the key matches and its seal verifies
    OUT/.grader-key                         the secret (mode 0600) that seals the outcomes

Only the grader writes here (no submission can see OUT), and every file is written with
`handgrad.io.atomic_write`: a crash never leaves half a file. A cached outcome is used
only if its HMAC-SHA256 seal, made with the run folder's secret key, verifies: an
outcome edited by anyone else is checked again. Every text cell of grades.csv is one
line without control characters, and a cell starting with = + - @ (a formula to a
spreadsheet) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import math
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from handgrad.checks.grade.rubric import Rubric
from handgrad.checks.grade.runner import Outcome
from handgrad.checks.grade.scoring import SubmissionGrade
from handgrad.checks.grade.session import clean
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


KEY_NAME = ".grader-key"
MAX_OUTCOME_BYTES = 8 * 1024 * 1024


def _secret(out: Path) -> bytes:
    """The run folder's sealing key, made on first use (readable by the grader only)."""
    path = out / KEY_NAME
    try:
        key = path.read_bytes()
        if len(key) == 32:
            return key
    except OSError:
        pass
    out.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    with atomic_write(path, "wb") as f:
        f.write(key)
    os.chmod(path, 0o600)
    return key


def _seal(out: Path, data: dict) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=True).encode()
    return hmac.new(_secret(out), text, hashlib.sha256).hexdigest()


def save_outcome(out: Path, outcome: Outcome) -> None:
    data = outcome.to_json()
    _write_json(
        submission_dir(out, outcome.name) / OUTCOME_NAME, {**data, "seal": _seal(out, data)}
    )


def cached_outcome(out: Path, name: str, key: str) -> Outcome | None:
    """The outcome saved for ``name`` if it was made under ``key`` and its seal verifies."""
    path = submission_dir(out, name) / OUTCOME_NAME
    try:
        if path.is_symlink() or path.stat().st_size > MAX_OUTCOME_BYTES:
            return None
        data = json.loads(path.read_text())
        seal = data.pop("seal")
        if not (isinstance(seal, str) and hmac.compare_digest(seal, _seal(out, data))):
            return None
        outcome = Outcome.from_json(data)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return outcome if outcome.key == key and outcome.name == name else None


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
                csv_cell(g.name),
                *(points_text(scores[f]) for f in formulas),
                points_text(g.total),
                points_text(g.max_score),
                g.status,
                csv_cell(g.reason),
            ]
        )
    return buffer.getvalue()


def csv_cell(text: str) -> str:
    """``text`` as one safe cell: one line, no control characters, never a formula."""
    text = clean(text, limit=1000)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def gradescope_results(
    grade: SubmissionGrade, symbols: dict[str, str], rubric: Rubric | None = None
) -> dict:
    """One submission's results.json in Gradescope's autograder format: one test per
    formula with its points, ``status`` (passed: full points) and the rubric's
    ``visibility`` (every key is one Gradescope documents)."""
    rubric = rubric or Rubric()
    summary = f"{points_text(grade.total)} / {points_text(grade.max_score)} points"
    if grade.reason:
        summary += f"; could not be graded: {grade.reason}"
    for note in grade.notes:
        summary += f"\nnote: {note}"
    return {
        "score": round(grade.total, 6),
        "execution_time": round(grade.seconds, 3),
        "output": summary,
        "output_format": "text",
        "visibility": rubric.visibility,
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": f"{m.name}: {symbols[m.name]}"
                if symbols.get(m.name, m.name) != m.name
                else m.name,
                "score": round(m.score, 6),
                "max_score": m.max_score,
                "status": "passed" if m.score >= m.max_score else "failed",
                "output": m.output,
                "output_format": "text",
                "visibility": rubric.test_visibility.get(m.name, rubric.visibility),
            }
            for m in grade.marks
        ],
    }


def write_grades(
    out: Path,
    grades: Sequence[SubmissionGrade],
    formulas: Sequence[str],
    symbols: dict[str, str],
    rubric: Rubric | None = None,
) -> Path:
    """Write every results.json and grades.csv; returns the path of grades.csv."""
    for g in grades:
        results = gradescope_results(g, symbols, rubric)
        _write_json(submission_dir(out, g.name) / RESULTS_NAME, results)
    path = out / CSV_NAME
    with atomic_write(path, "w") as f:
        f.write(grades_csv(grades, formulas))
    return path
