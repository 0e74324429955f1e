"""A class's submissions as LMS exports lay them out: finding, hashing and copying them.

Every entry at the top level of the class folder is one learner's submission:

- a ``.py`` file or a ``.ipynb`` notebook, e.g. Canvas's flat export
  ``smithjohn_12345_67890_hw3.py``;
- a folder, searched to 4 folder levels down for ``.py`` and ``.ipynb`` files, e.g.
  Moodle's ``John Smith_12345_assignsubmission_file_/hw3/formulas.py``, Gradescope's
  ``submission_123/formulas.py``, or an extracted zip ``alice/alice_hw/src/formulas.py``
  with ``src/util.py`` beside it. With one such file, that file is checked; with several,
  the one that defines formulas (a line ``def grad_…(``, `notebook.defines_formulas`),
  when exactly one does. Every other file comes along (`safe_copy`), so helper modules
  stay importable;
- anything else (a PDF, an archive, an empty folder, a link) is still a submission, one
  that cannot be graded, with a one-line ``problem`` a learner or TA can act on.

Skipped everywhere: hidden entries (``.name``), ``__pycache__``, ``__MACOSX`` and
``.ipynb_checkpoints``; at the top level also Gradescope's ``submission_metadata.yml``.

Submissions are untrusted, so they are read the same bounded way everywhere (discovery,
`content_hash`, `safe_copy`): sizes come from ``lstat`` before any byte is read; links
are never followed (a symbolic link anywhere in a submission refuses it, naming the link);
named pipes, sockets and devices refuse it without being opened; a submission over
``max_bytes`` in all (20 MiB by default), with more than 2000 files and folders or with
folders nested deeper than 8 levels is refused; the scan for ``def grad_`` reads at most
the first 1 MiB of a file; files are opened with ``O_NOFOLLOW | O_NONBLOCK`` and checked
again once open. Not covered: hard links (they need the grading machine's file system to
build, which an LMS export does not give).

``name`` is the entry's file name with control, bidirectional-override and undecodable
characters shown as ``?``, made unique (``name (2)``) without regard to case;
``path`` stays the real path.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handgrad.checks.notebook import code_cells, defines_formulas
from handgrad.errors import HandgradError

MAX_BYTES = 20 * 2**20  # a submission's files, in all
MAX_ENTRIES = 2000  # files and folders in one submission
MAX_DEPTH = 8  # folders nested below the learner's folder
SEARCH_DEPTH = 4  # how deep the file to check is looked for
SCAN_BYTES = 2**20  # read of one file by the scan for ``def grad_``

SOURCES = (".py", ".ipynb")
REPORTS = (".md", ".tex")  # written derivations, read by `handgrad.checks.report`
_DERIVATION = re.compile(r"\\partial|\\nabla|\\delta_|∂")  # a report derives gradients
SKIPPED_DIRS = ("__pycache__", "__MACOSX", ".ipynb_checkpoints")
EXPORT_FILES = ("submission_metadata.yml",)  # an LMS's own file beside the submissions
ARCHIVES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: A formula's ``def`` line inside a notebook's JSON strings.
_JSON_FORMULA = re.compile(r'(?:"|\\n)(?: |\\t)*def grad_\w+\s*\(')
_KINDS = {
    stat.S_IFIFO: "named pipe (FIFO)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}


class RefusedSubmission(ValueError):
    """A submission unsafe to read or copy, or one with nothing to check; the message says why.

    Raised by `safe_copy` (discovery and `content_hash` turn it into a ``problem``).
    """


@dataclass(frozen=True)
class Submission:
    """One entry: ``file`` is the file to check, or None with ``problem`` saying why.

    ``max_bytes`` is the size limit it was found under, which `content_hash` and
    `safe_copy` apply again. ``written``: the file is a derivation to read (a report, or a
    notebook whose code defines no ``grad_`` function), not code to run.
    """

    name: str
    path: Path
    file: Path | None
    problem: str = ""
    max_bytes: int = MAX_BYTES
    written: bool = False


def discover(folder: str | Path, max_bytes: int = MAX_BYTES) -> list[Submission]:
    """The submissions in ``folder``, sorted by entry name (see the module doc)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise HandgradError(
            f"{folder}: not a folder; pass the folder holding one file or folder per learner"
        )
    entries = sorted(
        p for p in folder.iterdir() if not _skipped(p.name) and p.name not in EXPORT_FILES
    )
    if not entries:
        raise HandgradError(f"{folder}: holds no submissions (one file or folder each)")
    names = _unique([_shown(p.name) for p in entries])
    return [_submission(name, p, max_bytes) for name, p in zip(names, entries, strict=True)]


def single(path: str | Path, name: str, max_bytes: int = MAX_BYTES) -> Submission:
    """One learner's file or folder as a submission (Gradescope's /autograder/submission)."""
    return _submission(name, Path(path), max_bytes)


def content_hash(sub: Submission) -> str:
    """sha256 of the submission's files (names and bytes), so any edit changes it.

    Reads as bounded as discovery; a submission refused now hashes its reason instead.
    """
    digest = hashlib.sha256()
    try:
        for rel, data in _contents(sub):
            digest.update(os.fsencode(Path(sub.path.name, rel)) + b"\0")
            digest.update(b"folder\0" if data is None else b"%d\0%b\0" % (len(data), data))
    except RefusedSubmission as e:
        return hashlib.sha256(b"refused\0" + os.fsencode(str(e))).hexdigest()
    return digest.hexdigest()


def safe_copy(sub: Submission, dest: str | Path) -> Path:
    """Copy the submission's folders and regular files into ``dest`` (new or empty); the
    file to check, relative to ``dest``.

    A folder's contents land directly in ``dest`` (``dest/hw/formulas.py``, helpers beside
    it); a single file as ``dest/<its name>``. The checks of discovery are made again (the
    files may have changed since); skipped entries are not copied. Copies get fresh
    permissions (0644, folders 0755). Raises `RefusedSubmission` with the reason, or
    OSError when ``dest`` cannot be written.
    """
    if sub.file is None:
        raise RefusedSubmission(sub.problem or "nothing to check")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, data in _contents(sub):
        if data is None:
            (dest / rel).mkdir(mode=0o755)
            continue
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(dest / rel, flags, 0o644)
        with open(fd, "wb") as f:
            f.write(data)
    file = sub.file.relative_to(sub.path) if sub.file != sub.path else Path(sub.path.name)
    if not (dest / file).is_file():
        raise RefusedSubmission(f"{_shown(str(file))} is gone since the submission was found")
    return file


# --- finding the file to check ------------------------------------------------------


def _submission(name: str, path: Path, max_bytes: int) -> Submission:
    try:
        file, problem = _choose(path, max_bytes)
    except RefusedSubmission as e:
        file, problem = None, str(e)
    if problem:
        return Submission(name, path, None, _shown(problem), max_bytes)
    return Submission(name, path, file, "", max_bytes, _written(file, path))


def _written(file: Path, entry: Path) -> bool:
    """Whether ``file`` is a written derivation: a report, or a notebook whose code
    defines no ``grad_`` function (its derivation is in its Markdown cells)."""
    if file.suffix in REPORTS:
        return True
    if file.suffix != ".ipynb":
        return False
    folder = entry if entry.is_dir() else entry.parent
    size = _lstat(file, _rel(file, folder)).st_size  # the whole notebook, not the scan's MiB
    try:
        return not defines_formulas(
            code_cells(
                _read_all(file, size, _rel(file, folder)).decode("utf-8-sig", errors="replace")
            )
        )
    except ValueError:
        return False  # not a notebook after all: the sandbox says what is wrong


def _choose(path: Path, max_bytes: int) -> tuple[Path | None, str]:
    """The file to check in the entry ``path`` and "", or None and why not."""
    st = _lstat(path, "it")
    if stat.S_ISDIR(st.st_mode):
        return _choose_inside(path, max_bytes)
    _check_file(path, st, "it", max_bytes, path)
    if path.suffix.lower() in ARCHIVES:
        return None, f"an archive ({path.suffix}), not a Python file; extract it into a folder"
    if path.suffix in REPORTS:
        return path, ""
    if path.suffix not in SOURCES:
        return None, (
            "not a Python file (.py), a notebook (.ipynb), a written report (.md, .tex) "
            "or a folder holding one"
        )
    return path, _scan(path, path.parent).problem


def _choose_inside(folder: Path, max_bytes: int) -> tuple[Path | None, str]:
    """The one file of a learner's folder that holds formulas: a code file defining
    ``grad_`` functions, else a written report deriving gradients (see the module doc)."""
    entries = _walk(folder, max_bytes)
    if not entries:
        return None, "the folder is empty"
    near = [
        p
        for p, size in entries
        if size is not None
        and p.suffix in SOURCES + REPORTS
        and len(p.relative_to(folder).parts) <= SEARCH_DEPTH + 1
    ]
    code = [p for p in near if p.suffix in SOURCES]
    reports = [p for p in near if p.suffix in REPORTS and _derives(p, folder)]
    if not code and not reports:
        return None, (
            f"the folder holds no Python file (.py), notebook (.ipynb) or report deriving "
            f"gradients (.md, .tex) within {SEARCH_DEPTH} folder levels"
        )
    scans = {p: _scan(p, folder) for p in code}
    defining = [p for p in code if scans[p].defines]
    if len(defining) == 1:
        return defining[0], scans[defining[0]].problem
    if defining:
        return None, f"several files define grad_ functions ({_list(defining, folder)}); keep one"
    if len(reports) == 1:
        return reports[0], ""
    if len(code) == 1 and not reports:
        return code[0], scans[code[0]].problem
    if reports and not code:
        return None, f"several reports ({_list(reports, folder)}); keep one"
    cut = any(s.cut for s in scans.values())
    kind = "files" if reports else "Python files"
    return None, (
        f"several {kind} ({_list(code + reports, folder)}) and none defines grad_ functions"
        + (f" in their first {SCAN_BYTES >> 20} MiB" if cut else "")
        + "; define each formula as def grad_<quantity>(…) in one of them"
    )


def _derives(report: Path, folder: Path) -> bool:
    """Whether a .md/.tex file derives gradients (∂, \\partial, \\nabla, \\delta_)."""
    data = _read(report, SCAN_BYTES, _rel(report, folder))
    return _DERIVATION.search(data[:SCAN_BYTES].decode("utf-8", errors="replace")) is not None


@dataclass(frozen=True)
class _Scan:
    defines: bool  # has a ``def grad_…(`` line
    problem: str = ""  # why the file cannot be checked (a broken notebook)
    cut: bool = False  # the file is longer than the scan read


def _scan(file: Path, folder: Path) -> _Scan:
    data = _read(file, SCAN_BYTES, _rel(file, folder))
    cut = len(data) > SCAN_BYTES
    text = data[:SCAN_BYTES].decode("utf-8-sig", errors="replace")
    if file.suffix != ".ipynb":
        return _Scan(defines_formulas(text), cut=cut)
    if cut:  # too long to parse here: look for the line inside the JSON strings
        return _Scan(_JSON_FORMULA.search(text) is not None, cut=True)
    try:
        return _Scan(defines_formulas(code_cells(text)))
    except ValueError as e:
        where = "" if file.parent == folder else f"{_rel(file, folder)}: "
        return _Scan(False, where + str(e))


def _list(files: list[Path], folder: Path, most: int = 5) -> str:
    names = [_rel(p, folder) for p in files]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


# --- the bounded walk -----------------------------------------------------------------


def _contents(sub: Submission) -> Iterator[tuple[Path, bytes | None]]:
    """Each folder (None) and regular file (its bytes) of ``sub``, relative to its folder."""
    st = _lstat(sub.path, "it")
    if not stat.S_ISDIR(st.st_mode):
        _check_file(sub.path, st, "it", sub.max_bytes, sub.path)
        yield Path(sub.path.name), _read_all(sub.path, st.st_size, sub.path.name)
        return
    for path, size in _walk(sub.path, sub.max_bytes):
        rel = path.relative_to(sub.path)
        yield rel, None if size is None else _read_all(path, size, _rel(path, sub.path))


def _walk(root: Path, max_bytes: int) -> list[tuple[Path, int | None]]:
    """Every folder (size None) and regular file below ``root``, sorted, links not followed.

    Raises `RefusedSubmission` at the first entry that is not a folder or a regular file,
    or once the limits are passed; stops listing as soon as they are.
    """
    found: list[tuple[Path, int | None]] = []
    total = seen = 0
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        entries = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        raise RefusedSubmission(
                            f"it holds more than {MAX_ENTRIES} files and folders; "
                            "submit only the formulas and the modules they import"
                        )
                    if not _skipped(entry.name):
                        entries.append(Path(entry.path))
        except OSError as e:
            raise RefusedSubmission(f"cannot list {_rel(folder, root)}: {e.strerror}") from None
        for path in entries:
            rel = _rel(path, root)
            st = _lstat(path, rel)
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > MAX_DEPTH:
                    raise RefusedSubmission(
                        f"its folders nest deeper than {MAX_DEPTH} levels ({rel}); "
                        "move the files up"
                    )
                stack.append((path, depth + 1))
                found.append((path, None))
                continue
            _check_file(path, st, rel, max_bytes, root)
            total += st.st_size
            if total > max_bytes:
                raise RefusedSubmission(
                    f"its files add up to more than {_size(max_bytes)} (reached at {rel}, "
                    f"{_size(st.st_size)}); remove data files and outputs"
                )
            found.append((path, st.st_size))
    return sorted(found, key=lambda f: os.fsencode(f[0]))


def _check_file(path: Path, st: os.stat_result, label: str, max_bytes: int, root: Path) -> None:
    """Refuse ``path`` (in submission ``root``) unless a regular file of ``max_bytes`` at most."""
    if stat.S_ISLNK(st.st_mode):
        raise _link(path, label, root)
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
        it = "it is" if label == "it" else f"{label} is"
        raise RefusedSubmission(f"{it} a {kind}, not a regular file; remove it")
    if st.st_size > max_bytes:
        it = "it is" if label == "it" else f"{label} is"
        raise RefusedSubmission(
            f"{it} {_size(st.st_size)}, over the {_size(max_bytes)} limit; "
            "remove data files and outputs"
        )


def _link(path: Path, label: str, root: Path) -> RefusedSubmission:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    resolved = os.path.normpath(os.path.join(path.parent, target))
    inside = resolved.startswith(str(root) + os.sep)
    where = "inside the submission" if inside else "outside the submission"
    it = "it is" if label == "it" else f"{label} is"
    return RefusedSubmission(
        f"{it} a symbolic link to {_shown(target)[:80]} ({where}); links are not followed: "
        "submit the file itself"
    )


def _lstat(path: Path, label: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as e:
        raise RefusedSubmission(f"cannot read {label}: {e.strerror}") from None


def _read(path: Path, limit: int, label: str) -> bytes:
    """At most ``limit + 1`` bytes of regular file ``path``: never a link, never blocking."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise RefusedSubmission(f"cannot read {label}: {e.strerror}") from None
    with open(fd, "rb", buffering=0) as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RefusedSubmission(f"{label} changed into a special file; remove it")
        chunks, left = [], limit + 1
        while left > 0 and (chunk := f.read(min(left, 2**20))):
            chunks.append(chunk)
            left -= len(chunk)
    return b"".join(chunks)


def _read_all(path: Path, size: int, label: str) -> bytes:
    data = _read(path, size, label)
    if len(data) > size:
        raise RefusedSubmission(f"{label} grew while it was read; submit it again")
    return data


# --- names ------------------------------------------------------------------------------


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS


def _rel(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder``, as shown in a reason."""
    return _shown(path.relative_to(folder).as_posix())


def _shown(text: str) -> str:
    """``text`` with control, line-breaking, bidi-override and undecodable characters as ?."""
    return "".join(
        "?" if c in _BIDI or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c
        for c in text
    )


def _unique(names: list[str]) -> list[str]:
    """``names`` with each repeat (ignoring case and Unicode normal form) as ``name (2)``."""

    def key(name: str) -> str:
        return unicodedata.normalize("NFC", name).casefold()

    taken, seen, out = {key(n) for n in names}, set(), []
    for name in names:
        if key(name) in seen:
            n = 2
            while key(f"{name} ({n})") in taken:
                n += 1
            name = f"{name} ({n})"
        seen.add(key(name))
        taken.add(key(name))
        out.append(name)
    return out


def _size(n: float) -> str:
    if n < 1024:
        return f"{n} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            break
    return f"{n:.1f} {unit}".replace(".0 ", " ")
