"""The in-place losses give the values and gradients of the readable `handgrad.nn` ones."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import nn
from handgrad.fast.losses import FastBernoulliNLL, FastSoftmaxCrossEntropy

RTOL = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_label_path_equals_the_one_hot_formula(dtype):
    rng = np.random.default_rng(0)
    z = (5 * rng.standard_normal((9, 6))).astype(dtype)
    labels = rng.integers(0, 6, 9)
    plain, fast = nn.SoftmaxCrossEntropy(), nn.SoftmaxCrossEntropy()
    FastSoftmaxCrossEntropy.adopt(fast)
    assert fast.forward(z, labels) == pytest.approx(plain.forward(z, labels), rel=RTOL[dtype])
    for dloss in (1.0, 0.1):
        g_fast, g_plain = fast.backward(dloss), plain.backward(dloss)
        assert g_fast.dtype == dtype
        np.testing.assert_allclose(g_fast, g_plain, rtol=RTOL[dtype], atol=RTOL[dtype] / 9)
    # probability rows take the readable path in both
    y = nn.one_hot(labels, 6, dtype)
    assert fast.forward(z, y) == plain.forward(z, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_nll_in_place_is_bit_identical(dtype):
    rng = np.random.default_rng(1)
    x = rng.random((5, 7)).astype(dtype)
    logits = (10 * rng.standard_normal((5, 7))).astype(dtype)
    plain, fast = nn.BernoulliNLL(), nn.BernoulliNLL()
    FastBernoulliNLL.adopt(fast)
    np.testing.assert_array_equal(fast.forward(x, logits), plain.forward(x, logits))
    g = rng.random(5).astype(dtype)
    np.testing.assert_array_equal(fast.backward(g), plain.backward(g))
    np.testing.assert_array_equal(fast.backward(0.25), plain.backward(0.25))
