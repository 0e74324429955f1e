"""Running a learner's Python file: its global namespace, or one line saying why not.

Standalone: this module imports only the standard library, because the grader's
sandbox runs it where handgrad is not importable (`handgrad.checks.grade.harness`).
`run_source(path)` reads the file as UTF-8 (a byte-order mark is allowed), compiles it
and runs it with its prints sent to stderr. Anything that goes wrong raises
`SourceError`, whose message is one line naming the file and the line, and whose
``cause`` is the learner's exception (None for a file that cannot be read or compiled).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

MODULE_NAME = "handgrad_user_formulas"


class SourceError(Exception):
    """The file cannot be run; the message is one line, ``cause`` the learner's exception."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


def run_source(path: str | Path, *, shown: str | None = None) -> dict[str, object]:
    """The global namespace after running the Python file ``path``.

    ``shown`` is how messages name the file (default: the path itself).
    """
    path = Path(path)
    name = shown or str(path)
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError(f"{name}: cannot read the file as Python text ({e})") from None
    return run_code(source, str(path), name)


def run_code(
    source: str, filename: str, shown: str, where: Callable[[int], str | None] | None = None
) -> dict[str, object]:
    """The global namespace after running ``source`` as the file ``filename``.

    Messages name ``shown`` and a line, or what ``where(line)`` says of it (a
    notebook's "cell 4, line 2").
    """
    path = filename

    def at(line: int | None) -> str:
        said = where(line) if where and line else None
        return f"{shown} ({said})" if said else f"{shown}:{line or '?'}"

    try:
        code = compile(source, filename, "exec")
    except (SyntaxError, ValueError) as e:
        msg = getattr(e, "msg", str(e))
        raise SourceError(f"{at(getattr(e, 'lineno', None))}: not valid Python: {msg}") from None
    namespace: dict[str, object] = {"__name__": MODULE_NAME, "__file__": str(path)}
    try:
        with contextlib.redirect_stdout(sys.stderr):
            exec(code, namespace)
    except SystemExit as e:
        raise SourceError(f"{shown}: the file calls exit() when run; remove that", e) from None
    except Exception as e:
        msg = " ".join(str(e).split())[:300]
        raise SourceError(
            f"{at(line_in(e, filename))}: running the file raised {type(e).__name__}: {msg}", e
        ) from None
    return namespace


def line_in(error: BaseException, filename: str) -> int | None:
    """The line of the deepest frame of ``error`` in ``filename``."""
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
