"""A pids cgroup per submission: a cap on how many processes and threads it may have.

`RLIMIT_NPROC` (`limits`) does not hold for processes whose user is root outside the
sandbox, which is what bubblewrap's processes are when the grader runs as root: the
kernel exempts root's processes from it. A pids cgroup does hold, for everyone, so a
fork bomb ends at `MAX_TASKS` instead of taking the machine's process table (and with
it the grader's next fork). `Cgroup.create()` makes one under the first writable pids
controller it finds (cgroup v1's ``/sys/fs/cgroup/pids``, else cgroup v2 with the pids
controller), or returns None where there is none (a grader that is not root, a
container without its own cgroups): there the process limit is `RLIMIT_NPROC`'s alone.

`wrap(argv)` makes a command enter the cgroup before it starts, so that nothing the
submission runs can fork outside it; `remove()` kills whatever is left in it and
removes it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import time
from pathlib import Path

MAX_TASKS = 64  # processes and threads of one submission, bubblewrap's own included
CANDIDATES = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")
_counter = itertools.count()


class Cgroup:
    """One submission's pids cgroup (see the module doc)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_tasks: int = MAX_TASKS) -> Cgroup | None:
        """A new cgroup allowing ``max_tasks`` tasks, or None where none can be made."""
        base = _find_base()
        if base is None:
            return None
        path = base / f"handgrad-{os.getpid()}-{next(_counter)}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(f"{max_tasks}\n")
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into this cgroup."""
        procs = str(self.path / "cgroup.procs")
        return ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, *argv]

    def tasks(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def remove(self) -> None:
        """Kill every process left in the cgroup, then remove it."""
        for _ in range(50):
            pids = self.tasks()
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self.path.rmdir()
                return
            time.sleep(0.02)


@functools.cache
def _find_base() -> Path | None:
    """The first pids controller where a child cgroup can be made and limited (looked
    for once per process)."""
    for candidate in CANDIDATES:
        base = Path(candidate)
        v2 = (base / "cgroup.controllers").exists()
        if v2:
            try:
                if "pids" not in (base / "cgroup.controllers").read_text().split():
                    continue
                if "pids" not in (base / "cgroup.subtree_control").read_text().split():
                    (base / "cgroup.subtree_control").write_text("+pids\n")
            except OSError:
                continue
        elif not (base / "cgroup.procs").exists() or base.name != "pids":
            continue
        probe = base / f"handgrad-probe-{os.getpid()}"
        try:
            probe.mkdir()
            (probe / "pids.max").write_text("1\n")
        except OSError:
            continue
        finally:
            with contextlib.suppress(OSError):
                probe.rmdir()
        return base
    return None
