"""The grader's register of running submission processes, and how they are killed.

Every submission's harness runs in its own session (its own process group), so killing
the group ends it and whatever it started outside a PID namespace. `stop_all` kills every
registered group at once (Ctrl-C while a class is being graded).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading

_live: set[int] = set()  # process groups of the children running now
_live_lock = threading.Lock()


def register(pid: int) -> None:
    with _live_lock:
        _live.add(pid)


def unregister(pid: int) -> None:
    with _live_lock:
        _live.discard(pid)


def stop_all() -> None:
    """Kill every child running now (on Ctrl-C: they run in their own sessions)."""
    with _live_lock:
        for pid in _live:
            kill_group(pid)


def kill_group(pid: int) -> None:
    """SIGKILL the child's process group; the unreaped child keeps its id from reuse."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
