"""Calling one learner formula safely: whatever it does, the caller gets an array or one line.

`call_formula(f, q)` runs ``f(q)`` with a time limit, NumPy warnings silenced, and
anything it prints sent to stderr (so ``--format json`` keeps stdout clean). It returns
a float array, or raises `FormulaError` whose message is one line naming what went
wrong: the exception with its line in the learner's code, a non-numeric or wrongly
typed result (integers, booleans, complex, float16), NaN/inf entries, or the time limit.
Float32 results are accepted (and judged with a float32 tolerance by the caller).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import types
from collections.abc import Callable, Iterator

import numpy as np

try:
    from handgrad.checks.doctor.source import line_in
except ImportError:  # inside the grader's sandbox, where handgrad is not importable
    from source import line_in

TIME_LIMIT_S = 2.0


class FormulaError(Exception):
    """One formula could not be judged; the message is one line."""


class NotWritten(FormulaError):
    """The formula raised NotImplementedError: a template stub, reported "not given"."""


class _TimeUp(BaseException):
    """Raised inside a formula that ran past its limit (a BaseException: `except Exception`
    in the learner's code does not swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `_TimeUp` in the running code after ``seconds`` (main thread, POSIX only;
    elsewhere no limit is enforced)."""
    usable = (
        seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def user_line(error: BaseException, f: Callable) -> str:
    """' (line N)' of the deepest frame of ``error`` in the file where ``f`` was defined."""
    code = getattr(f, "__code__", None)
    line = line_in(error, code.co_filename) if code is not None else None
    return f" (line {line})" if line is not None else ""


def call_formula(
    f: Callable, q: types.SimpleNamespace, *, time_limit_s: float = TIME_LIMIT_S
) -> np.ndarray:
    """``f(q)`` as a float32/float64 array, or `FormulaError` with a one-line reason."""
    try:
        with (
            time_limit(time_limit_s),
            contextlib.redirect_stdout(sys.stderr),
            np.errstate(all="ignore"),
        ):
            out = f(types.SimpleNamespace(**vars(q)))  # its own copy: rebinding q.x stays local
    except _TimeUp:
        raise FormulaError(
            f"ran longer than the time limit of {time_limit_s:g} s (m={q.m}); "
            "look for a loop that never ends"
        ) from None
    except FormulaError:
        raise  # a formula evaluated elsewhere (the grader's sandbox) that already said why
    except NotImplementedError:
        raise NotWritten("not written yet") from None
    except SystemExit:
        raise FormulaError("called exit(); a formula must return its gradient") from None
    except RecursionError as e:
        raise FormulaError(f"RecursionError{user_line(e, f)}: a function calls itself") from None
    except Exception as e:
        msg = " ".join(str(e).split()) or "(no message)"
        raise FormulaError(f"raised {type(e).__name__}{user_line(e, f)}: {msg}") from None
    return as_gradient(out, q.m)


def as_gradient(out: object, m: int) -> np.ndarray:
    """Validate a formula's return value: a finite float32/float64 array (scalars allowed)."""
    if out is None:
        raise FormulaError("returned None: is a 'return' missing?")
    if isinstance(out, np.ndarray | np.generic | float | int | list | tuple) and not isinstance(
        out, bool | str
    ):
        try:
            arr = np.asarray(out)
        except (TypeError, ValueError) as e:
            raise FormulaError(f"returned {type(out).__name__} that is no array ({e})") from None
    else:
        raise FormulaError(f"returned {type(out).__name__}, not a NumPy array")
    kind = arr.dtype
    if kind == np.float64 or kind == np.float32:
        pass
    elif kind.kind in "iu" and isinstance(out, int | float | list | tuple):
        arr = arr.astype(np.float64)  # a Python number or list of numbers: exact as given
    else:
        raise FormulaError(
            f"returned dtype {kind}, expected float64 (or float32); "
            + (
                "an integer array truncates the gradient — use float division"
                if kind.kind in "iub"
                else "return a real floating-point array"
            )
        )
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[:3]
        where = " ".join(str(tuple(int(i) for i in b)) for b in bad) if arr.ndim else ""
        raise FormulaError(
            f"returned NaN or inf (m={m}{', entries ' + where if where else ''}); "
            "look for a division by zero or a log of 0"
        )
    return arr
