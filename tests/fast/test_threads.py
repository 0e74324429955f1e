"""fast.threads.blas_threads: one BLAS thread for small steps, and the same products."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from handgrad.fast.threads import SMALL_STEP_MACS, blas_threads, step_macs


def test_step_macs_counts_the_forward_products():
    weights = [np.zeros((50, 784)), np.zeros(50), np.zeros((10, 50)), np.zeros(10)]
    assert step_macs(weights, 16) == 16 * (784 * 50 + 50 * 10)


def test_blas_threads_limits_blas_to_one_thread_for_small_steps_only():
    def blas_threads_now() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads_now()
    with blas_threads(SMALL_STEP_MACS - 1):
        assert blas_threads_now() <= {1}
    assert blas_threads_now() == before
    with blas_threads(SMALL_STEP_MACS):
        assert blas_threads_now() == before


def test_one_blas_thread_gives_the_same_products_to_round_off():
    """A training step's products (the reference MLP: batch 16, 784-50-10) on one BLAS
    thread equal those on the default count within float32 round-off, and to the bit
    when computed again under the same policy. Not always to the bit across thread
    counts: on an AMD EPYC with NumPy's OpenBLAS, xᵀ·h (784×16 · 16×50) rounds
    differently on two threads, which is why a run is reproducible to the bit only
    under the same thread policy (the one `blas_threads` sets)."""
    rng = np.random.default_rng(0)
    x = rng.random((16, 784), dtype=np.float32)
    big = rng.random((2000, 784), dtype=np.float32)
    w1, w2 = rng.random((50, 784), dtype=np.float32), rng.random((10, 50), dtype=np.float32)

    def products():
        h = x @ w1.T
        return [h, h @ w2.T, x.T @ h], big @ w1.T

    step, evaluation = products()
    with blas_threads(SMALL_STEP_MACS - 1):
        step_limited, evaluation_limited = products()
    with blas_threads(SMALL_STEP_MACS - 1):
        step_again, _ = products()
    for a, b, c in zip(step, step_limited, step_again, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)
        np.testing.assert_array_equal(b, c)
    np.testing.assert_allclose(evaluation, evaluation_limited, rtol=1e-5)
