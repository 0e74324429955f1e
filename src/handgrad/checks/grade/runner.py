"""Check one submission: its formulas evaluated in its sandbox, judged in the grader.

`check_submission` copies the submission into a fresh private scratch folder (removed
after), starts its sandboxed harness (`session.Session`), and hands the doctor
(`handgrad.checks.doctor.check_formulas`) one function per ``grad_`` name the harness
reports. Each such function only sends the namespace ``q`` into the sandbox and gets
the learner's array back: the truth, the comparison, the diagnosis and the document
are computed here, in the grader's process, where the submission's code never runs.
The batches are drawn from a fresh secret seed for every submission, so a file cannot
carry answers computed in advance for known inputs.

It returns an `Outcome`: the doctor's JSON document, or the reason there is none (a
syntax error, the CPU-time limit, a broken protocol, …) in one line a learner can act
on. Whatever the submission does, the result is an `Outcome`, never an exception.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from handgrad.checks.doctor.check import check_formulas
from handgrad.checks.grade import doctor
from handgrad.checks.grade.limits import Limits
from handgrad.checks.grade.sandbox import Sandbox
from handgrad.checks.grade.session import Session, Stopped, clean, signal_reason
from handgrad.checks.grade.submissions import Submission, safe_copy
from handgrad.errors import HandgradError
from handgrad.sweep.backends import thread_env

MAX_FORMULAS = 200


@dataclass(frozen=True)
class Outcome:
    """The result of checking one submission: the doctor's document, or a ``reason``."""

    name: str
    key: str
    document: dict[str, Any] | None
    reason: str = ""
    seconds: float = 0.0

    def report(self) -> doctor.DoctorReport | None:
        return None if self.document is None else doctor.from_document(self.document)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        return cls(**data)


def check_submission(
    sub: Submission, sandbox: Sandbox, limits: Limits, problem: str | None, key: str = ""
) -> Outcome:
    """Evaluate ``sub`` in ``sandbox`` and judge it here (see the module doc)."""
    if sub.file is None:
        return Outcome(sub.name, key, None, sub.problem)
    if sub.written:
        return check_written_report(sub, limits, problem, key)
    seconds = 0.0
    with tempfile.TemporaryDirectory(
        prefix="handgrad-grade-", ignore_cleanup_errors=True
    ) as scratch:
        file, failed = _copy(sub, Path(scratch), key)
        if failed is not None:
            return failed
        try:
            with Session(sandbox, Path(scratch), file, limits) as session:
                try:
                    document = _judge(session, problem, file.name)
                finally:
                    seconds = session.seconds
        except Stopped as e:
            return Outcome(sub.name, key, None, clean(e.reason), round(seconds, 3))
        except HandgradError as e:
            return Outcome(sub.name, key, None, clean(str(e)), round(seconds, 3))
    return Outcome(sub.name, key, document, "", round(seconds, 3))


def _copy(sub: Submission, scratch: Path, key: str) -> tuple[Path, Outcome | None]:
    """The submission's private copy in ``scratch/submission`` and its file to check
    (relative), or the failed `Outcome` saying why it cannot be copied."""
    try:
        return safe_copy(sub, scratch / "submission"), None
    except (OSError, ValueError) as e:
        return Path(), Outcome(sub.name, key, None, clean(f"cannot copy it for grading: {e}"))


def _judge(session: Session, problem: str | None, shown: str) -> dict[str, Any]:
    """The doctor's kept document for the formulas the session's harness reports."""
    manifest = session.open()
    if "error" in manifest:
        raise HandgradError(str(manifest["error"]))
    names = manifest.get("formulas")
    if not isinstance(names, list) or len(names) > MAX_FORMULAS:
        raise Stopped("the submission's process sent a malformed list of formulas")
    names = [n for n in names if isinstance(n, str) and n.isidentifier() and len(n) <= 64]
    declared = manifest.get("problem")
    if problem is None and manifest.get("own_network"):
        raise HandgradError(
            f"{shown} defines its own network (STEPS); a class is graded on one problem: "
            "name it with --problem or the rubric's problem"
        )
    namespace: dict[str, object] = {f"grad_{n}": session.formula(n) for n in names}
    if isinstance(declared, str) and declared.isidentifier():
        namespace["PROBLEM"] = declared
    report = check_formulas(namespace, problem, seed=secrets.randbits(63), file=shown)
    return _document(doctor.from_document(report.to_json()))


# A written report runs no learner code: a trusted handgrad process reads it
# (`report_reader`, which never runs a notebook's code cells), under the submission's
# CPU, memory and wall-time limits (its text is still untrusted input).
REPORT_READER = "handgrad.checks.grade.report_reader"
MAX_REPORT_OUTPUT = 8 * 1024 * 1024
MAX_NOTES = 20


def check_written_report(
    sub: Submission, limits: Limits, problem: str | None, key: str = ""
) -> Outcome:
    """A Markdown or LaTeX report, or a notebook of Markdown derivations
    (`handgrad.checks.report`): its equations read and
    judged by `report_reader` in a limited child process; the equations it
    cannot read become notes for the learner."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="handgrad-report-") as scratch:
        relative, failed = _copy(sub, Path(scratch), key)
        if failed is not None:
            return failed
        file = Path(scratch) / "submission" / relative
        argv = [sys.executable, "-P", "-m", REPORT_READER, *limits.process_args()]
        argv += [str(secrets.randbits(63)), str(file), *([problem] if problem else [])]
        out = Path(scratch) / "report.json"
        try:
            with open(out, "wb") as stdout:
                run = subprocess.run(
                    argv, stdout=stdout, stderr=subprocess.PIPE, timeout=limits.wall_seconds,
                    cwd=scratch, env={**os.environ, **thread_env(1)},
                )  # fmt: skip
        except subprocess.TimeoutExpired:
            reason = f"reading the report took longer than {limits.wall_seconds:g} s"
            return Outcome(sub.name, key, None, reason, round(time.monotonic() - start, 3))
        seconds = round(time.monotonic() - start, 3)
        said = run.stderr.decode(errors="replace").strip().splitlines()
        if run.returncode < 0:  # a limit stopped it
            why = signal_reason(-run.returncode, limits, "a very long equation?")
            return Outcome(sub.name, key, None, f"reading the report: {why}", seconds)
        if run.returncode != 0 or out.stat().st_size > MAX_REPORT_OUTPUT:
            reason = said[-1].removeprefix("error: ") if said else "the report could not be read"
            return Outcome(sub.name, key, None, clean(reason.replace(str(file), file.name)))
        text = out.read_text()
    try:
        document = json.loads(text)
        if not isinstance(document, dict):
            raise doctor.DoctorOutputError("the report reader's output is not a JSON object")
        kept = _report_document(document, problem, file.name)
    except (HandgradError, ValueError) as e:  # DoctorOutputError and JSON errors included
        return Outcome(sub.name, key, None, clean(str(e)), seconds)
    return Outcome(sub.name, key, kept, "", seconds)


def _report_document(document: dict, problem: str | None, shown: str) -> dict[str, Any]:
    """The kept document of one problem of a ``handgrad.report/1`` document, with a note
    for each equation that could not be read (so the learner knows why)."""
    problems = document.get("problems") or {}
    if problem is None and len(problems) == 1:
        problem = next(iter(problems))
    notes = [
        f"{e.get('where', '?')}: {e.get('reason')}"
        for e in document.get("equations", [])
        if e.get("problem") in (problem, None) and e.get("status") not in ("ok", "wrong")
        and e.get("reason")
    ]  # fmt: skip
    notes = [clean(n) for n in list(dict.fromkeys(notes))[:MAX_NOTES]]
    if problem not in problems:
        why = f": {'; '.join(notes[:2])}" if notes else ""
        raise HandgradError(f"{shown}: no gradient of {problem or 'a known problem'} read{why}")
    kept = _document(doctor.from_document(problems[problem]))
    kept["warnings"] += notes
    return kept


def _document(report: doctor.DoctorReport) -> dict[str, Any]:
    """The parts of the document the grader keeps (and caches), in the schema's names."""
    return {
        "schema": doctor.SCHEMA,
        "problem": report.problem,
        "formulas": [
            {**asdict(v), "worst_entries": [list(e) for e in v.worst_entries]}
            for v in report.verdicts
        ],
        "warnings": [clean(n) for n in report.notes],
    }
