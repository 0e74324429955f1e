"""The written-first gradient accumulators equal ``p.grad += …`` exactly."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast.grads import add_matmul, add_sum
from handgrad.nn.module import Parameter


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_matmul_equals_the_plain_accumulation(dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
    fast, plain = Parameter(np.ones((4, 5), dtype)), Parameter(np.ones((4, 5), dtype))
    for p in (fast, plain):
        p.grad[...] = 7  # stale values a zero_grad must hide
        p.zero_grad()
    for _ in range(2):  # the first contribution is written, later ones accumulate
        add_matmul(fast, a, b)
        plain.grad += a @ b
        np.testing.assert_array_equal(fast.grad, plain.grad)
    assert fast.grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_sum_equals_the_plain_accumulation(dtype):
    dy = np.random.default_rng(1).standard_normal((6, 3)).astype(dtype)
    fast, plain = Parameter(np.ones(3, dtype)), Parameter(np.ones(3, dtype))
    for p in (fast, plain):
        p.grad[...] = 7
        p.zero_grad()
    for _ in range(2):
        add_sum(fast, dy)
        plain.grad += dy.sum(axis=0)
        np.testing.assert_array_equal(fast.grad, plain.grad)
