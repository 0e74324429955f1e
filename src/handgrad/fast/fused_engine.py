"""The engine option: which implementation of the same formulas a training run uses.

* ``numpy``: the readable formulas of `handgrad.nn`, `handgrad.models` and
  `handgrad.optim`, one NumPy call per operation (the reference).
* ``fused``: the same formulas through the compiled kernels of `handgrad.fast` (Numba):
  the elementwise chains of a step fused into single passes, one-pass optimiser
  updates; the matrix products stay in NumPy's BLAS.

``auto`` (the default) is the fastest available: ``fused`` when Numba loads, else
``numpy``. A run records the engine it resolved to in its config, so a resume uses the
same one; the same seed and engine give bit-identical runs.
"""

from __future__ import annotations

from handgrad.errors import HandgradError
from handgrad.fast.compiled import load_error

ENGINES = ("numpy", "fused")
CHOICES = ("auto", *ENGINES)


def resolve(engine: str | None) -> str:
    """``numpy`` or ``fused`` for the option's value (None and ``auto``: the fastest
    available); one-line `HandgradError` for an unknown name or a fused engine that
    cannot load here."""
    if engine in (None, "", "auto"):
        return "fused" if load_error() is None else "numpy"
    if engine not in ENGINES:
        raise HandgradError(f"unknown engine {engine!r}; choose one of {', '.join(CHOICES)}")
    if engine == "fused" and (error := load_error()) is not None:
        raise HandgradError(
            f"the fused engine cannot load its compiler Numba ({error}); reinstall handgrad "
            "with its dependencies (uv sync) or pass --engine numpy"
        )
    return engine


def optimizer_class(cls: type, engine: str) -> type:
    """The optimiser class ``cls`` of `handgrad.optim` runs as with ``engine``: its
    one-pass subclass of `handgrad.fast.optim` for ``fused`` (same state, same results)."""
    if engine != "fused":
        return cls
    from handgrad.fast.optim import FUSED_OPTIMIZERS

    return FUSED_OPTIMIZERS.get(cls, cls)
