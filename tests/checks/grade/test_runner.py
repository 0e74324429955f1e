"""What a finished child process means for a submission: the document, or a plain reason."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from tests.checks.grade.conftest import document, entry, printed

from handgrad.checks.grade.child import OUTPUT, WALL, ChildRun
from handgrad.checks.grade.limits import Limits
from handgrad.checks.grade.runner import check_submission, interpret
from handgrad.checks.grade.submissions import discover

LIMITS = Limits(wall_seconds=30, cpu_seconds=10, output_kb=64, write_mb=4)


def _run(rc: int = 0, out: bytes = b"", err: bytes = b"", stopped: str | None = None) -> ChildRun:
    return ChildRun(rc, out, err, 1.0, stopped)


def test_a_document_is_kept_whole_with_the_scratch_path_removed() -> None:
    doc = document(entry("b2B", "error", error="/tmp/scratch/submission/a.py:3: boom"))
    kept, reason = interpret(_run(1, printed(doc)), LIMITS, "/tmp/scratch/submission/")
    assert reason == ""
    assert kept["formulas"][0]["error"] == "a.py:3: boom"
    assert kept["problem"] == "multitask"


@pytest.mark.parametrize(
    "run, needles",
    [
        (_run(-9, stopped=WALL), ["wall-time limit of 30 s"]),
        (_run(-9, b"x" * 10, stopped=OUTPUT), ["more than the 64 KB"]),
        (_run(-signal.SIGXCPU), ["CPU-time limit of 10 s", "endless loop"]),
        (_run(-signal.SIGXFSZ), ["file larger than the 4 MB"]),
        (_run(-signal.SIGKILL), ["SIGKILL", "out of memory"]),
        (_run(-signal.SIGSEGV), ["killed by SIGSEGV"]),
        (_run(2, err=b"error: /s/a.py:1: not valid Python: expected ':'\n"), ["a.py:1: not valid"]),
        (_run(0, b"partial output\n"), ["ended (exit code 0) before the check", "os._exit"]),
        (_run(1, err=b"Traceback\nMemoryError\n"), ["exit code 1", "MemoryError"]),
        (_run(1, printed(document(entry("b2B")) | {"schema": "x/9"})), ["not understood"]),
    ],
)
def test_reasons(run: ChildRun, needles: list[str]) -> None:
    kept, reason = interpret(run, LIMITS, "/s/")
    assert kept is None
    assert "\n" not in reason and "/s/" not in reason
    for needle in needles:
        assert needle in reason, reason


def test_a_submission_that_cannot_be_copied_is_its_own_failure(tmp_path: Path) -> None:
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "solution.py").write_text("def grad_b2B(q): ...")
    os.mkfifo(tmp_path / "ann" / "pipe")  # a named pipe: no file to copy
    (sub,) = discover(tmp_path)
    outcome = check_submission(sub, LIMITS, None, "k")
    assert outcome.document is None and "cannot copy it" in outcome.reason
    assert "\n" not in outcome.reason
