"""How many threads BLAS may use during training: only for speed.

`blas_threads` changes how many threads compute a product; what is computed stays the
same within float32 round-off, and to the bit under the same policy (on some CPUs a
product rounds differently on two threads than on one: tests/fast/test_threads.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np

# A training step whose matrix products come to fewer multiply-adds than this runs with
# one BLAS thread (`blas_threads`): the reference MLP's step is 0.6 million.
SMALL_STEP_MACS = 1 << 22


def step_macs(weights: Sequence[np.ndarray], batch_size: int) -> int:
    """Multiply-adds of the forward matrix products of one step: batch × Σ in·out over
    the 2-D weights (the backward pass does about twice as many)."""
    return batch_size * sum(w.size for w in weights if w.ndim == 2)


def blas_threads(macs: int) -> contextlib.AbstractContextManager:
    """Within the block, BLAS runs on one thread if a step's products are small
    (``macs`` < `SMALL_STEP_MACS`), else on its default thread count.

    Products that small gain nothing from a second thread, and once a larger product
    (the test-set evaluation after each epoch) has woken BLAS's worker thread, training
    ran measurably slower beside it: the reference MLP's epochs took 0.29–0.30 s with
    it against 0.28 s on one thread (`benchmarks/README.md`).
    """
    if macs >= SMALL_STEP_MACS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
