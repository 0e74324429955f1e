"""Choosing the engine of a training run: ``--engine auto|numpy|fused``.

* ``numpy``: the NumPy fast path of `handgrad.fast.numpy_engine` (the readable formulas
  of `handgrad.nn` and `handgrad.optim`, in place, with written-first gradients).
* ``fused``: the same formulas through the compiled kernels of `handgrad.fast.fused`
  (Numba): each training step's elementwise chains fused into single passes, one-pass
  optimiser updates; the matrix products stay in NumPy's BLAS.

``auto`` (the default) is the fastest available: ``fused`` when Numba loads (wherever
handgrad is installed with its dependencies), else ``numpy``; it is resolved each time
a run or its resume starts. The same seed and engine give bit-identical runs, resumed
or not. Importing this module does
not import Numba: `get` does, when the fused engine is asked for.
"""

from __future__ import annotations

from handgrad.errors import HandgradError
from handgrad.fast.compiled import load_error
from handgrad.fast.engine import Engine

NAMES = ("numpy", "fused")
CHOICES = ("auto", *NAMES)


def resolve(name: str | None) -> str:
    """``numpy`` or ``fused`` for the option's value (None and ``auto``: the fastest
    available); one-line `HandgradError` for an unknown name or a fused engine that
    cannot load here."""
    if name in (None, "", "auto"):
        return "fused" if load_error() is None else "numpy"
    if name not in NAMES:
        raise HandgradError(f"unknown engine {name!r}; choose one of {', '.join(CHOICES)}")
    if name == "fused" and (error := load_error()) is not None:
        raise HandgradError(
            f"the fused engine cannot load its compiler Numba ({error}); reinstall handgrad "
            "with its dependencies (uv sync) or pass --engine numpy"
        )
    return name


def get(name: str | None) -> Engine:
    """The `Engine` of the option's value (see `resolve`)."""
    if resolve(name) == "fused":
        from handgrad.fast.fused import FUSED

        return FUSED
    from handgrad.fast.numpy_engine import NUMPY

    return NUMPY
