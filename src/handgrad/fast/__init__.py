"""What exists only for speed: each piece gives the same numbers as the plain formula
it replaces (in `handgrad.nn` / `handgrad.optim`), and a test under tests/fast/ proves it.

`handgrad.fast.engine` is the seam: an `Engine` maps each readable class to its faster
subclass, and ``engine.prepare(model, optimizer, loss_fn)`` switches a model's layers,
an optimiser and a loss to them in place (same state, same parameters).
"""

from handgrad.fast.engine import ENGINES, Engine, FastVersion, get_engine, register
from handgrad.fast.numpy_engine import NUMPY, PLAIN

DEFAULT_ENGINE = NUMPY
"""The engine the training loops use unless told otherwise."""

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "NUMPY",
    "PLAIN",
    "Engine",
    "FastVersion",
    "get_engine",
    "register",
]
