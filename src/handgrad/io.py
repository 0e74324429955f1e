"""Crash-safe file writing, and a lock that keeps two processes out of one folder.

Every file handgrad writes that a later step reads back (weights, checkpoints,
downloads, metrics snapshots, reports) goes through `atomic_write`: the bytes go to a
temporary file in the same directory, are flushed and fsync'ed, and only then renamed
over the target. A reader therefore sees either the old complete file or the new
complete file, never a half-written one. The temporary file is created with mode 0666
less the umask, like any other file, so a group-readable folder stays group-readable.

An `OSError` on the way (no space left, a read-only disk, permission denied, a file
where a folder should be) removes the temporary file and is raised as the one-line
error of `handgrad.errors.fault`, which names the target and says the previous file
is intact.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from handgrad.errors import HandgradError, MachineFault, fault


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    On any exception (including KeyboardInterrupt) the temporary file is removed and
    ``path`` is left untouched; an `OSError` becomes `handgrad.errors.fault`'s error.
    """
    path = Path(path)
    kept = (
        f"the previous {path.name} is intact"
        if os.path.isfile(path)
        else f"no partial {path.name} was left"
    )
    tmp = None
    try:
        make_dir(path.parent)
        fd, tmp = _create_temporary(path)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, MachineFault):
            raise fault(e, path, doing=f"writing {path}", kept=kept, reading=False) from e
        raise
    _fsync_dir(path.parent)


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new file ``.<name>.<random>.tmp`` beside ``path``, mode 0666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        with contextlib.suppress(FileExistsError):
            return os.open(tmp, flags, 0o666), tmp


def make_dir(path: str | os.PathLike) -> Path:
    """Create folder ``path`` and its parents if missing; an `OSError` becomes a fault."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise fault(
            e, e.filename or path, doing=f"creating the folder {path}", reading=False
        ) from e
    return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort; not every platform allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


LOCK_NAME = ".lock"


def lock_folder(folder: str | os.PathLike) -> IO:
    """Hold an exclusive lock on ``folder/.lock`` for as long as the returned file is open.

    A second *process* asking for the lock of the same folder gets a one-line
    `HandgradError` naming the holder (pid, host, start time). The lock is a POSIX record
    lock (``fcntl.lockf``): the kernel drops it when its process exits, however it exits,
    so a lock file left by a killed process never blocks; within one process locking
    again succeeds (closing any of its lock files then releases the lock).
    """
    path = make_dir(folder) / LOCK_NAME
    try:
        f = open(path, "a+b", buffering=0)  # held open: closing it releases the lock
    except OSError as e:
        raise fault(e, path, doing=f"locking {folder}") from e
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        f.seek(0)
        holder = " ".join(f.read().decode(errors="replace").split()) or "another process"
        f.close()
        if isinstance(e, BlockingIOError | PermissionError):
            raise HandgradError(
                f"{folder} is in use by another training ({holder}); wait for it to "
                "finish or choose another --out"
            ) from None
        raise fault(e, path, doing=f"locking {folder}") from e
    with contextlib.suppress(OSError):  # who holds it is only told, e.g. on a full disk
        f.truncate(0)
        f.write(
            f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%X')}\n".encode()
        )
    return f


def read_toml(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """The parsed TOML file at ``path``; ``what`` names it in errors ("a sweep spec").

    Raises a one-line `HandgradError` for a missing, unreadable or invalid file.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise HandgradError(f"{path}: file not found; pass the path of {what}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise HandgradError(f"{path}: cannot read {what} ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise HandgradError(f"{path}: not valid TOML ({e})") from None
