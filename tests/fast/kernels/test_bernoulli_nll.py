"""The float32 path's branch-free e^{−a} and log1p are within a few float32 roundings
over the whole range a float32 logit takes, and the kernel's extremes stay finite and
right (and NaN stays NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast.kernels.bernoulli_nll import _exp_neg32, _log1p32, bernoulli_nll
from handgrad.nn.vae_losses import BernoulliNLL

ROUNDINGS = 3e-7  # a few float32 roundings (one is 6e-8)


def test_exp_neg32_is_exp_of_minus_a_to_a_few_roundings_on_the_float32_range():
    a = np.linspace(0.0, 87.0, 40001, dtype=np.float32)
    got = np.array([_exp_neg32(v) for v in a], np.float64)
    np.testing.assert_allclose(got, np.exp(-a.astype(np.float64)), rtol=ROUNDINGS, atol=0)
    far = np.array([_exp_neg32(v) for v in np.float32([87.5, 104.0, 1e30, np.inf])])
    assert (far <= np.float32(1.7e-38)).all() and (far > 0).all()  # nothing beside 1
    assert np.isnan(_exp_neg32(np.float32(np.nan)))


def test_log1p32_is_log1p_to_a_few_roundings_on_0_1():
    e = np.concatenate([np.linspace(0.0, 1.0, 2001), np.geomspace(1e-38, 1.0, 401)])
    e = e.astype(np.float32)
    got = np.array([_log1p32(v) for v in e], np.float64)
    np.testing.assert_allclose(got, np.log1p(e.astype(np.float64)), rtol=ROUNDINGS, atol=0)
    assert _log1p32(np.float32(0.0)) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_give_the_readable_loss_and_gradient(dtype):
    logits = np.array([[0.0, -0.0, 30.0, -30.0, 200.0, -200.0, 1e-30, -1e-30]], dtype)
    x = np.array([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.5]], dtype)
    b, rows, bgrad = np.zeros(8, dtype), np.empty(1, dtype), np.zeros(8, dtype)
    nll = BernoulliNLL()
    want_rows, want = nll.forward(x, logits), nll.backward(1.0)
    got = logits.copy()
    bernoulli_nll(got, b, x, dtype(1.0), rows, bgrad)
    np.testing.assert_allclose(rows, want_rows, rtol=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(bgrad, got[0])
    assert np.isfinite(got).all() and np.isfinite(rows).all()


def test_a_nan_logit_gives_a_nan_loss_and_gradient():
    logits = np.array([[np.nan, 1.0]], np.float32)
    x, b = np.ones((1, 2), np.float32), np.zeros(2, np.float32)
    rows, bgrad = np.empty(1, np.float32), np.zeros(2, np.float32)
    bernoulli_nll(logits, b, x, np.float32(1.0), rows, bgrad)
    assert np.isnan(rows[0]) and np.isnan(logits[0, 0]) and np.isfinite(logits[0, 1])


def test_the_gradient_where_sigmoid_rounds_to_one_is_exact():
    """l = 20, x = 1: g (sigmoid(l) − 1) = −g e^{−20}/(1 + e^{−20}), not 0 (which
    computing sigmoid(l) first and subtracting would give)."""
    logits, x = np.full((1, 1), 20.0, np.float32), np.ones((1, 1), np.float32)
    rows, bgrad, b = np.empty(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32)
    bernoulli_nll(logits, b, x, np.float32(1.0), rows, bgrad)
    want = -np.exp(-20.0) / (1 + np.exp(-20.0))
    np.testing.assert_allclose(logits[0, 0], want, rtol=1e-6)
    np.testing.assert_allclose(rows[0], np.log1p(np.exp(-20.0)), rtol=1e-6)
