"""Loading the compiler of the fused engine (Numba) and caching its machine code on disk.

`jit(fn)` compiles ``fn`` with Numba in nopython mode, with NumPy's error model (a
division by zero gives inf/nan like NumPy instead of a per-element check, which would
keep LLVM from vectorising the loops). Machine code is cached on disk, in
``<user cache folder>/handgrad/numba`` (platformdirs; ``$NUMBA_CACHE_DIR`` wins when
set), so only the first run on a machine pays the compile time; `cache_dir` says where.

No ``fastmath``: LLVM keeps every operation in the order written (no reassociation,
no fused multiply-adds), so a run is bit-identical from one machine start to the
next, and a kernel doing the operations of a NumPy formula in its order rounds as it
does. Where a float32 kernel evaluates a function its own way (the multi-task sin/cos,
the VAE's e^{−|l|} and log1p: branch-free polynomials in float64 that vectorise), its
declaration's test bounds the difference. Importing this module imports Numba;
`load_error` tells callers beforehand whether that will work, as one line.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs


def cache_dir() -> Path:
    """Where compiled kernels are kept: $NUMBA_CACHE_DIR, else the user cache folder."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("handgrad")) / "numba"


@functools.cache
def load_error() -> str | None:
    """None if Numba imports and compiles here, else why not, as a one-line message."""
    try:
        import numba  # noqa: F401
    except Exception as error:  # ImportError, or a broken llvmlite raising anything else
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


def jit(fn: Callable) -> Callable:
    """``numba.njit(fn)``, cached in `cache_dir`, NumPy error model, releasing the GIL."""
    import numba

    numba.config.CACHE_DIR = str(cache_dir())  # read when the dispatcher sets up its cache
    return numba.njit(cache=True, nogil=True, error_model="numpy")(fn)


def _identity(x):
    return x


@functools.cache
def start() -> float:
    """Set up Numba's code generation in this process, once; returns the seconds it took.

    The first call of any compiled kernel in a process pays for it (about a second on
    the 2-core development machine, cached kernels or not; each further kernel's first
    call then costs milliseconds), so a training loop whose first kernel ran inside the
    timed epoch counted it as training time: `handgrad.fast.engine.get` calls this
    before any training starts.
    """
    begin = time.perf_counter()
    jit(_identity)(0)
    return time.perf_counter() - begin
