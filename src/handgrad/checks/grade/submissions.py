"""A class's submissions: every entry of one folder, and the content hash of each.

An entry is one submission: a ``.py`` file, or a folder holding one (its other files,
helper modules included, come along). A folder with several ``.py`` files at its top
level uses the one that defines ``grad_`` functions, when exactly one does. Any other
entry (a notebook, a PDF, an empty folder) is still a submission, one that cannot be
graded, with the reason. Hidden entries (``.name``) and ``__pycache__`` are skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from handgrad.errors import HandgradError

SKIPPED_DIRS = ("__pycache__",)


@dataclass(frozen=True)
class Submission:
    """One entry: ``file`` is the Python file to check, or None with ``problem`` saying why."""

    name: str
    path: Path
    file: Path | None
    problem: str = ""


def discover(folder: str | Path) -> list[Submission]:
    """The submissions in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HandgradError(
            f"{folder}: not a folder; pass the folder holding one .py file or folder per learner"
        )
    entries = sorted(
        (p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name
    )
    subs = [_submission(p) for p in entries if p.name not in SKIPPED_DIRS]
    if not subs:
        raise HandgradError(f"{folder}: holds no submissions (one .py file or folder each)")
    return subs


def _submission(path: Path) -> Submission:
    if path.is_file():
        if path.suffix == ".py":
            return Submission(path.name, path, path)
        return Submission(path.name, path, None, "not a Python file (.py) or a folder holding one")
    if not path.is_dir():
        return Submission(path.name, path, None, "not a file or a folder")
    files = sorted(p for p in path.glob("*.py") if p.is_file())
    if len(files) > 1:
        files = [p for p in files if "def grad_" in _text(p)] or files
    if len(files) == 1:
        return Submission(path.name, path, files[0])
    if not files:
        return Submission(path.name, path, None, "the folder holds no Python file (.py)")
    names = ", ".join(p.name for p in files)
    return Submission(
        path.name, path, None, f"the folder holds several Python files ({names}); keep one"
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def content_hash(sub: Submission) -> str:
    """sha256 of the submission's files (names and bytes), so any edit changes it."""
    digest = hashlib.sha256()
    files = [sub.path] if sub.path.is_file() else sorted(_files(sub.path))
    for f in files:
        digest.update(f.relative_to(sub.path.parent).as_posix().encode() + b"\0")
        try:
            digest.update(f.read_bytes())
        except OSError as e:
            digest.update(f"unreadable: {e}".encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part in SKIPPED_DIRS for part in p.parts)
    ]


def safe_copy(sub: Submission, dest: Path) -> Path:
    """Copy the submission's files into ``dest``; the file to check, relative to it."""
    import shutil

    if sub.path.is_dir():
        shutil.copytree(sub.path, dest, symlinks=True)
        return sub.file.relative_to(sub.path)
    dest.mkdir()
    shutil.copyfile(sub.path, dest / sub.path.name)
    return Path(sub.path.name)
