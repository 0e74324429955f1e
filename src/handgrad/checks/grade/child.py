"""Run one command in a child process under a wall-time and an output limit.

`run_limited` starts the command in its own session (so the whole process group can be
killed), with no stdin, and reads its stdout and stderr until both close, keeping at
most ``limits.output_bytes`` of them together. It kills the group when the wall-time
limit passes or the output cap is exceeded, and says which of the two stopped it; the
CPU, memory and file-size limits are set by the child itself
(`handgrad.checks.grade.limits.apply`). The grader's own memory stays bounded by the
output cap, whatever the child prints.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CHUNK = 65536
POLL_SECONDS = 0.05

WALL = "wall"
OUTPUT = "output"

_live: set[int] = set()  # process groups of the children running now
_live_lock = threading.Lock()


@dataclass(frozen=True)
class ChildRun:
    """What a child process did.

    ``returncode`` is the exit code, or −N when a signal N ended it (as in `subprocess`);
    ``stopped`` is `WALL` or `OUTPUT` when the grader killed it, else None.
    """

    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    stopped: str | None = None


def run_limited(
    argv: Sequence[str],
    *,
    wall_seconds: float,
    output_bytes: int,
    cwd: str | Path,
    env: dict[str, str],
) -> ChildRun:
    """Run ``argv`` in ``cwd`` with ``env``; stop it at the wall-time or output limit."""
    start = time.monotonic()
    deadline = start + wall_seconds
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with _live_lock:
        _live.add(proc.pid)
    streams = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    stopped = None
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while stopped is None:
            left = deadline - time.monotonic()
            if left <= 0:
                stopped = WALL
            elif selector.get_map():
                stopped = _read_ready(selector, streams, output_bytes, min(left, 1.0))
            elif _has_exited(proc.pid):
                break
            else:  # both pipes closed, the process still runs
                time.sleep(min(left, POLL_SECONDS))
    with _live_lock:
        _live.discard(proc.pid)
    _kill_group(proc.pid)  # also any process the child started; then reap the child
    returncode = proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    out, err = streams.values()
    return ChildRun(returncode, bytes(out), bytes(err), time.monotonic() - start, stopped)


def _read_ready(
    selector: selectors.BaseSelector,
    streams: dict[int, bytearray],
    cap: int,
    timeout: float,
) -> str | None:
    """Read what is ready; `OUTPUT` if the streams together now exceed ``cap`` bytes."""
    for key, _ in selector.select(timeout):
        chunk = os.read(key.fd, CHUNK)
        if not chunk:
            selector.unregister(key.fd)
            continue
        room = cap - sum(len(b) for b in streams.values())
        streams[key.fd] += chunk[: max(room, 0)]
        if len(chunk) > room:
            return OUTPUT
    return None


def _has_exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (its pid stays reserved)."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return info is not None


def stop_all() -> None:
    """Kill every child running now (on Ctrl-C: they run in their own sessions)."""
    with _live_lock:
        for pid in _live:
            _kill_group(pid)


def _kill_group(pid: int) -> None:
    """SIGKILL the child's process group; the unreaped child keeps its id from reuse."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
