"""The grader's side of one submission's sandbox: start it, ask it to evaluate, stop it.

`Session(sandbox, scratch, file, limits)` starts the harness (`harness`, via
`sandbox.launch`) in its own process group and reads its manifest. ``session.call(name,
q)`` sends the namespace ``q`` and returns the formula's array, or raises the doctor's
`FormulaError`/`NotWritten` with the harness's one-line reason. Whatever the process
does, the grader stays in charge:

* the wall-time limit covers the whole session: a reply not there in time kills the
  process group and raises `Stopped` (a BaseException, so the doctor's
  ``except Exception`` around a learner's formula never swallows it);
* stderr (everything the submission prints) is drained by a thread and capped at
  ``limits.output_bytes``; more kills it (`Stopped`);
* a reply is read with `wire.decode` under a byte cap and validated again with the
  doctor's `as_gradient`: a malformed, oversized or missing reply is this submission's
  `Stopped` with a reason, never the grader's crash;
* at most `cgroup.MAX_TASKS` processes and threads (a pids cgroup, where the machine
  lets the grader make one; `limits`' RLIMIT_NPROC otherwise);
* closing kills the process group, the cgroup's processes (and, in the user isolation,
  every process of the sandbox user): nothing outlives the session.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.checks.doctor.call import FormulaError, NotWritten, as_gradient
from handgrad.checks.grade import child, wire
from handgrad.checks.grade.cgroup import Cgroup
from handgrad.checks.grade.harness import REPLY_BYTES
from handgrad.checks.grade.limits import Limits
from handgrad.checks.grade.sandbox import Sandbox, kill_user_processes, launch


class Stopped(BaseException):
    """The submission's process was stopped or broke the protocol; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Session:
    """One submission's running harness (see the module doc); use it as a context manager."""

    def __init__(self, sandbox: Sandbox, scratch: Path, file: Path, limits: Limits) -> None:
        self.limits = limits
        self.start = time.monotonic()
        self.deadline = self.start + limits.wall_seconds
        self._sandbox = sandbox
        spec = launch(sandbox, scratch, file, limits.process_args())
        self._uid = spec.user
        # bwrap's processes are root's outside when the grader is root, and the kernel
        # exempts root from RLIMIT_NPROC: a pids cgroup caps them instead (where one can
        # be made); the user isolation's processes are held by RLIMIT_NPROC
        self._cgroup = Cgroup.create() if spec.user is None else None
        argv = self._cgroup.wrap(spec.argv) if self._cgroup else spec.argv
        self.proc = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=spec.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            user=spec.user,
            group=spec.group,
            extra_groups=[] if spec.user is not None else None,
            close_fds=True,
        )
        child.register(self.proc.pid)
        os.set_blocking(self.proc.stdin.fileno(), False)
        self._stderr_total = 0
        self._flooded = False
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the process group (and the sandbox user's processes); reap the harness."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        child.kill_group(self.proc.pid)
        if self._uid is not None:
            kill_user_processes(self._uid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self._cgroup is not None:
            self._cgroup.remove()
        child.unregister(self.proc.pid)
        self._drain.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start

    # -- the protocol -----------------------------------------------------------------------
    def open(self) -> dict[str, Any]:
        """Read the manifest (see `harness`): the formulas defined, PROBLEM, or an error."""
        header, _ = self._receive(0)
        if header.get("op") != "loaded":
            raise Stopped("the submission's process did not answer as expected")
        return header

    def call(
        self, name: str, q: types.SimpleNamespace, replace: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """``grad_<name>(q)`` evaluated in the sandbox (see the module doc)."""
        scalars, arrays = {}, {}
        for key, value in vars(q).items():
            if isinstance(value, np.ndarray):
                arrays[key] = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                scalars[key] = value
        arrays.update(replace or {})
        header = {"op": "call", "name": name, "scalars": scalars, "replace": list(replace or {})}
        self._send(wire.encode(header, arrays))
        reply, out = self._receive(REPLY_BYTES)
        status = reply.get("status")
        if status == "not_written":
            raise NotWritten("not written yet")
        if status == "error":
            raise FormulaError(clean(str(reply.get("message", "failed"))))
        if status != "ok" or set(out) != {"value"}:
            raise Stopped("the submission's process answered out of protocol")
        try:
            return as_gradient(np.array(out["value"]), q.m)
        except FormulaError:
            raise Stopped("the submission's process sent a malformed result") from None

    def formula(self, name: str):
        """A function ``f(q)`` the doctor can call like a learner's own formula."""

        def f(q: types.SimpleNamespace) -> np.ndarray:
            return self.call(name, q)

        def with_upstream(q: types.SimpleNamespace, up: str, value: np.ndarray) -> np.ndarray:
            """The doctor's proof of "inherits": evaluated with grad_<up> returning value."""
            return self.call(name, q, replace={up: value})

        f.__name__ = f"grad_{name}"
        f.with_upstream = with_upstream
        return f

    def _send(self, data: bytes) -> None:
        """Write a request without ever blocking past the deadline (the other side may
        stop reading)."""
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Stopped(self._wall())
            _, ready, _ = select.select([], [fd], [], min(left, 0.5))
            if not ready:
                continue
            try:
                view = view[os.write(fd, view[:65536]) :]
            except (BrokenPipeError, OSError):
                raise Stopped(self._ended()) from None

    def _receive(self, max_bytes: int) -> tuple[dict, dict]:
        read = wire.reader(self.proc.stdout.fileno(), wait=self._wait_readable)
        try:
            return wire.decode(read, max_bytes=max_bytes)
        except EOFError:
            raise Stopped(self._ended()) from None
        except wire.WireError as e:
            if self.proc.poll() is not None or self._flooded:
                raise Stopped(self._ended()) from None
            raise Stopped(f"the submission's process broke the protocol ({e})") from None

    def _wait_readable(self, fd: int) -> None:
        while True:
            if self._flooded:
                raise Stopped(self._ended())
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Stopped(self._wall())
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                return

    def _wall(self) -> str:
        child.kill_group(self.proc.pid)
        return (
            f"stopped at the wall-time limit of {self.limits.wall_seconds:g} s "
            "(an endless loop, or waiting for something?)"
        )

    def _drain_stderr(self) -> None:
        fd = self.proc.stderr.fileno()
        cap = self.limits.output_bytes
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self._stderr_total += len(chunk)
            if self._stderr_total > cap and not self._flooded:
                self._flooded = True
                child.kill_group(self.proc.pid)

    def _ended(self) -> str:
        """Why the process is gone (or the stream broke): one line a learner can act on."""
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill_group(self.proc.pid)
            code = self.proc.wait()
        if self._flooded:
            return (
                f"printed more than the {self.limits.output_kb:g} KB allowed; stopped "
                "(a print in a loop?)"
            )
        if code < 0:
            return signal_reason(-code, self.limits)
        if self._sandbox.isolation == "bwrap" and code > 128:  # bwrap reports a signal so
            return signal_reason(code - 128, self.limits)
        return (
            f"the process ended (exit code {code}) before the check finished "
            "(sys.exit or os._exit in the file?)"
        )


def signal_reason(number: int, limits: Limits, likely: str = "an endless loop?") -> str:
    """What a signal that ended the submission's process means, in one line; ``likely``
    is the probable cause of a CPU-time stop."""
    if number == signal.SIGXCPU:
        return f"stopped at the CPU-time limit of {limits.cpu_seconds:g} s ({likely})"
    if number == signal.SIGXFSZ:
        return f"wrote a file larger than the {limits.write_mb:g} MB allowed; stopped"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGKILL:
        return f"killed by {name} (out of memory?)"
    return f"killed by {name}"


_CONTROL = dict.fromkeys([*range(0, 32), 127, *range(0x80, 0xA0)], " ")
_CONTROL.update({0x202E: " ", 0x202D: " ", 0x2066: " ", 0x2067: " ", 0x2068: " ", 0x2069: " "})


def clean(text: str, limit: int = 300) -> str:
    """``text`` as one line of at most ``limit`` characters, control characters removed."""
    return " ".join(text.translate(_CONTROL).split())[:limit]
