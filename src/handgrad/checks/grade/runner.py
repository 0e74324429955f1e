"""Check one submission in its own limited process, and say plainly what happened.

`check_submission` copies the submission into a fresh scratch folder (removed after),
runs the gradient doctor on it there in a child process (`handgrad.checks.grade.worker`,
under the `Limits`), and returns an `Outcome`: the doctor's JSON document, or the
reason there is none (a syntax error, the CPU-time limit, an output flood, …), in one
line a learner can act on.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from handgrad.checks.grade import doctor
from handgrad.checks.grade.child import OUTPUT, WALL, ChildRun, run_limited
from handgrad.checks.grade.limits import Limits
from handgrad.checks.grade.submissions import Submission
from handgrad.sweep.backends import thread_env

WORKER = "handgrad.checks.grade.worker"


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
    sub: Submission, limits: Limits, problem: str | None, key: str = ""
) -> Outcome:
    """Run the doctor on ``sub`` in a limited child process (see the module doc)."""
    if sub.file is None:
        return Outcome(sub.name, key, None, sub.problem)
    with tempfile.TemporaryDirectory(
        prefix="handgrad-grade-", ignore_cleanup_errors=True
    ) as scratch:
        work = Path(scratch) / "submission"
        try:
            file = _copy(sub, work)
        except (OSError, shutil.Error) as e:
            return Outcome(sub.name, key, None, f"cannot copy it into a scratch folder: {e}")
        argv = [
            sys.executable,
            "-P",  # the submission's folder is appended to sys.path, never prepended
            "-m",
            WORKER,
            *(str(v) for v in (limits.cpu_seconds, limits.memory_mb, limits.write_mb)),
            "--path",
            str(work / file.parent),
            "--",
            *doctor.command(file, problem),
        ]
        run = run_limited(
            argv,
            wall_seconds=limits.wall_seconds,
            output_bytes=limits.output_bytes,
            cwd=work,
            env=child_environment(Path(scratch)),
        )
        document, reason = interpret(run, limits, str(work) + os.sep)
    return Outcome(sub.name, key, document, reason, round(run.seconds, 3))


def _copy(sub: Submission, work: Path) -> Path:
    """Copy the submission's files into ``work``; the file to check, relative to it."""
    if sub.path.is_dir():
        shutil.copytree(sub.path, work, symlinks=True)
        return sub.file.relative_to(sub.path)
    work.mkdir()
    shutil.copyfile(sub.path, work / sub.path.name)
    return Path(sub.path.name)


def child_environment(scratch: Path) -> dict[str, str]:
    """The grader's environment with one BLAS thread and home/temp in the scratch folder."""
    env = dict(os.environ)
    env.update(thread_env(1))
    env.update(
        HOME=str(scratch),
        TMPDIR=str(scratch),
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(scratch),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


def interpret(run: ChildRun, limits: Limits, scratch_prefix: str = "") -> tuple[dict | None, str]:
    """The doctor's validated document and "" , or None and the reason there is none."""
    if run.stopped == WALL:
        return None, (
            f"stopped at the wall-time limit of {limits.wall_seconds:g} s "
            "(an endless loop, or waiting for something?)"
        )
    if run.stopped == OUTPUT:
        return None, (
            f"printed more than the {limits.output_kb:g} KB allowed; stopped (a print in a loop?)"
        )
    if run.returncode < 0:
        return None, _signal_reason(-run.returncode, limits)
    stdout = run.stdout.replace(scratch_prefix.encode(), b"") if scratch_prefix else run.stdout
    last = _last_line(run.stderr).replace(scratch_prefix, "") if scratch_prefix else ""
    if run.returncode == doctor.UNUSABLE_INPUT:
        return None, last.removeprefix("error: ") or "the checker found nothing to check"
    try:
        document = doctor.parse_report(stdout)
    except doctor.DoctorOutputError as e:
        said = f": {last}" if last else ""
        if run.returncode in (0, 1) and "no JSON document" in str(e):
            return None, (
                f"the process ended (exit code {run.returncode}) before the check finished "
                f"(sys.exit or os._exit in the file?){said}"
            )
        if "no JSON document" in str(e):
            return None, f"the check failed (exit code {run.returncode}){said}"
        return None, f"the checker's output was not understood ({e})"
    return _document(document), ""


def _document(report: doctor.DoctorReport) -> dict[str, Any]:
    """The parts of the document the grader keeps (and caches), in the schema's names."""
    return {
        "schema": doctor.SCHEMA,
        "problem": report.problem,
        "formulas": [
            {**asdict(v), "worst_entries": [list(e) for e in v.worst_entries]}
            for v in report.verdicts
        ],
    }


def _signal_reason(number: int, limits: Limits) -> str:
    if number == signal.SIGXCPU:
        return f"stopped at the CPU-time limit of {limits.cpu_seconds:g} s (an endless loop?)"
    if number == signal.SIGXFSZ:
        return f"wrote a file larger than the {limits.write_mb:g} MB allowed; stopped"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGKILL:
        return f"killed by {name} (out of memory?)"
    return f"killed by {name}"


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")
