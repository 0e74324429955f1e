"""OpenBLAS settings handgrad asks for, read when NumPy loads OpenBLAS: only for speed.

OpenBLAS's worker threads busy-wait for 2^28 CPU cycles (about 0.1 s) after each
matrix product before they sleep. Between two products of a training step the fused
engine runs its elementwise passes and optimiser update on both cores
(`handgrad.fast.pair`); a spinning BLAS worker kept the second core from the pass's
worker thread, and the split passes gained nothing (MNIST VAE epoch 2.4–2.7 s with or
without the split). With the wait cut to 2^16 cycles (about 27 µs, still longer than
the gap between two products of a step) the split pays: 1.9–2.1 s.

Importing this module sets these as defaults in ``os.environ`` (`apply`; a value the
user set wins). That must happen before NumPy is first imported: ``import handgrad``
imports this module first, so the
``handgrad`` command and scripts that import handgrad before NumPy get it; a process
that imported NumPy already keeps OpenBLAS's defaults (nothing breaks, only the split
passes gain less), and `short_spin` tells `handgrad.fast.pair` to keep the passes on
one core, where the split cost about 3 % (2.4–3.1 s against 2.3–3.1 s). This module
imports nothing but ``os`` and ``sys``.
"""

from __future__ import annotations

import os
import sys

DEFAULTS = {"OPENBLAS_THREAD_TIMEOUT": "16"}  # log2 of the cycles a BLAS worker spins
SHORT_SPIN_MAX = 20  # OPENBLAS_THREAD_TIMEOUT up to this: a worker sleeps within ~0.5 ms

# OPENBLAS_THREAD_TIMEOUT as NumPy's OpenBLAS read it (or will): the value already set if
# NumPy was imported before this module, else the value after `apply`.
_numpy_first = "numpy" in sys.modules
_seen_by_openblas = os.environ.get("OPENBLAS_THREAD_TIMEOUT") if _numpy_first else None


def apply() -> None:
    """Set `DEFAULTS` in ``os.environ`` where unset."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


def short_spin() -> bool:
    """True if OpenBLAS's workers sleep soon after a product here: OPENBLAS_THREAD_TIMEOUT
    was at most `SHORT_SPIN_MAX` when NumPy loaded OpenBLAS."""
    value = _seen_by_openblas if _numpy_first else os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    return value is not None and value.strip().isdigit() and int(value) <= SHORT_SPIN_MAX


apply()
