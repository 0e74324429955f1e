"""The two exception types handgrad raises, and how an `OSError` becomes one of them.

`HandgradError` is bad *input* (a wrong flag, a damaged file the user supplied, a path
that is a file where a folder is needed): it subclasses `ValueError`, so library users
can catch either, and the CLI prints it as ``error: <message>`` and exits with code 2.

`MachineFault` is a fault of the *machine* (no space left, a read-only disk, permission
denied, an I/O error): it subclasses `OSError` and keeps the errno; the CLI prints it as
``error: <message>`` and exits with code 1.

Both messages are a single line. A fault's line names the problem, the place, what was
kept and the fix, e.g. ``no space left on /mnt while writing /mnt/run/checkpoint.npz; the
checkpoint after epoch 3 in /mnt/run is intact; free space on /mnt and continue with
`handgrad train mlp --resume /mnt/run```. `fault` builds it from an `OSError`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: The step after fixing a fault, unless the caller knows a better one.
AGAIN = "run the command again"


class HandgradError(ValueError):
    """Bad input given to handgrad: a one-line message naming the problem and the fix."""


class MachineFault(OSError):
    """A fault of the machine: one line naming problem, place, what was kept and the fix.

    The parts are kept as attributes so a caller that knows more (e.g. which checkpoint a
    run directory still holds) can say so with `with_context`.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | os.PathLike,
        kept: str,
        remedy: str,
        then: str = AGAIN,
        code: int = 0,
    ):
        super().__init__(code, problem)
        self.problem, self.path, self.kept = problem, Path(path), kept
        self.remedy, self.then = remedy, then

    def __str__(self) -> str:
        fix = f"{self.remedy} and {self.then}" if self.then else self.remedy
        return f"{self.problem}; {self.kept}; {fix}"

    def __reduce__(self):  # pickled across processes by the sweep backends
        return _rebuild_fault, (
            self.problem,
            self.path,
            self.kept,
            self.remedy,
            self.then,
            self.errno,
        )

    def with_context(self, *, kept: str, then: str) -> MachineFault:
        """The same fault, saying ``kept`` is intact and ``then`` is the step after the fix."""
        return _rebuild_fault(self.problem, self.path, kept, self.remedy, then, self.errno)


def _rebuild_fault(*args) -> MachineFault:
    problem, path, kept, remedy, then, code = args
    return MachineFault(problem, path=path, kept=kept, remedy=remedy, then=then, code=code)


# errno -> (problem, remedy), filled with {mount} (the filesystem) and {path}.
_MACHINE = {
    errno.ENOSPC: ("no space left on {mount}", "free space on {mount}"),
    errno.EDQUOT: ("disk quota exceeded on {mount}", "free space or raise your quota"),
    errno.EROFS: (
        "{mount} is mounted read-only",
        "remount it read-write or use a folder on a writable disk",
    ),
    errno.EIO: ("input/output error on {mount}", "check the disk (dmesg)"),
}
_DENIED = (errno.EACCES, errno.EPERM)


def fault(
    error: OSError,
    path: str | os.PathLike | None = None,
    *,
    doing: str = "",
    kept: str = "",
    then: str = AGAIN,
    reading: bool | None = None,
) -> MachineFault | HandgradError:
    """The one-line error for ``error``, met while ``doing`` something with ``path``.

    ``doing`` is e.g. "writing /x/weights.npz" (default: the place alone); ``kept`` says
    what is intact (default: that nothing under a final name was touched); ``then`` is
    the next step after the fix; ``reading`` says whether ``path`` was read, written or
    (None) either. A path that is a file where a folder is needed, or a
    folder where a file is, is bad input (`HandgradError`); the rest are `MachineFault`.
    """
    path = Path(path if path is not None else (error.filename or "."))
    where = f" while {doing}" if doing else f" at {path}"
    kept = kept or "no file under a final name was changed"
    code = error.errno or 0
    if code in (errno.ENOTDIR, errno.EEXIST):
        blocker = _file_in_the_way(path)
        return HandgradError(
            f"{blocker} is a file, not a folder{where}; "
            f"choose another path or move {blocker} out of the way"
        )
    if code == errno.EISDIR:
        return HandgradError(f"{path} is a folder, not a file{where}; choose a file name")
    mount = mount_point(path)
    if code in _DENIED:
        target = path if reading or os.path.lexists(path) else _existing_ancestor(path)
        need = {True: "readable", False: "writable", None: "accessible"}[reading]
        problem = f"permission denied on {target}{where}"
        remedy = f"make {target} {need} for you (chmod/chown) or use another folder"
    elif code in _MACHINE:
        problem, remedy = (s.format(mount=mount, path=path) for s in _MACHINE[code])
        problem += where
    else:
        problem = f"{(error.strerror or str(error)).lower()}{where}"
        remedy = "fix the cause"
    return MachineFault(problem, path=path, kept=kept, remedy=remedy, then=then, code=code)


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the filesystem that holds (or would hold) ``path``."""
    p = _existing_ancestor(Path(os.path.abspath(path)))
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def _existing_ancestor(path: Path) -> Path:
    """``path`` itself if it exists, else its nearest existing parent."""
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _file_in_the_way(path: Path) -> Path:
    """The first component of ``path`` that is an existing non-folder (else ``path``)."""
    for p in reversed([path, *path.parents]):
        if os.path.lexists(p) and not os.path.isdir(p):
            return p
    return path
