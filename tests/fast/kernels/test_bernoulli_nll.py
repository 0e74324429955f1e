"""The float32 path's branch-free e^{−a} and log1p are accurate far beyond float32, over
the whole range a float32 logit takes, and the kernel's extremes stay finite and right."""

from __future__ import annotations

import numpy as np

from handgrad.fast.kernels.bernoulli_nll import _exp_neg, _log1p01, bernoulli_nll
from handgrad.nn.vae_losses import BernoulliNLL


def test_exp_neg_is_exp_of_minus_a_to_1e9_on_the_float32_range():
    a = np.linspace(0.0, 104.0, 4001)
    got = np.array([_exp_neg(v) for v in a])
    np.testing.assert_allclose(got, np.exp(-a), rtol=1e-9, atol=0)


def test_log1p01_is_log1p_to_1e9_relative_on_0_1():
    e = np.concatenate([np.linspace(0.0, 1.0, 2001), np.geomspace(1e-45, 1.0, 401)])
    got = np.array([_log1p01(v) for v in e])
    np.testing.assert_allclose(got, np.log1p(e), rtol=1e-9, atol=0)
    assert _log1p01(0.0) == 0.0


def test_extreme_logits_give_the_readable_loss_and_gradient():
    logits = np.array([[0.0, -0.0, 30.0, -30.0, 200.0, -200.0, 1e-30, -1e-30]], np.float32)
    x = np.array([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.5, 0.5]], np.float32)
    b, rows, bgrad = np.zeros(8, np.float32), np.empty(1, np.float32), np.zeros(8, np.float32)
    nll = BernoulliNLL()
    want_rows, want = nll.forward(x, logits), nll.backward(1.0)
    got = logits.copy()
    bernoulli_nll(got, b, x, np.float32(1.0), rows, bgrad)
    np.testing.assert_allclose(rows, want_rows, rtol=1e-6)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert np.isfinite(got).all() and np.isfinite(rows).all()
