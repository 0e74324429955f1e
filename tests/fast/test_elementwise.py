"""Each fused elementwise kernel equals the chain of handgrad.nn layers and losses it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast import elementwise as fe
from handgrad.nn.activations import ReLU
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.nn.vae_losses import BernoulliNLL, GaussianKL, Reparameterize
from tests.fast.conftest import DTYPES, assert_close


def randn(rng, dtype, *shape):
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_relu_and_its_backward_with_the_bias_gradient(rng, dtype):
    h, b, dh = randn(rng, dtype, 9, 6), randn(rng, dtype, 6), randn(rng, dtype, 9, 6)
    relu = ReLU()
    expected = relu.forward(h + b)
    fused = h.copy()
    fe.bias_relu(fused, b)
    np.testing.assert_array_equal(fused, expected)  # one rounding each way: identical
    ddh = relu.backward(dh)
    bgrad = np.full(6, 0.5, dtype)  # accumulates onto what is there
    fe.relu_backward_bias_grad(dh, fused, bgrad)
    np.testing.assert_array_equal(dh, ddh)
    assert_close(bgrad, 0.5 + ddh.sum(axis=0), dtype, atol_scale=np.abs(ddh).sum())
    plain = h.copy()
    fe.bias_add(plain, b)
    np.testing.assert_array_equal(plain, h + b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_with_gradient_accuracy_and_bias_gradient(rng, dtype):
    z, b = 3 * randn(rng, dtype, 12, 7), randn(rng, dtype, 7)
    labels = rng.integers(0, 7, 12)
    z[0] = -b  # a row of equal logits: the first is the prediction, as argmax's
    loss_fn = SoftmaxCrossEntropy()
    logits = z + b
    loss = loss_fn.forward(logits, labels)
    dz = loss_fn.backward(0.3)
    fused, bgrad = z.copy(), np.zeros(7, dtype)
    total, correct = fe.softmax_xent(fused, b, labels, dtype(0.3 / 12), bgrad)
    assert total / 12 == pytest.approx(loss, rel=10 * float(np.finfo(dtype).eps))
    assert correct == np.count_nonzero(logits.argmax(axis=1) == labels)
    assert_close(fused, dz, dtype, atol_scale=0.3 / 12)
    assert_close(bgrad, dz.sum(axis=0), dtype, atol_scale=0.3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bernoulli_nll_from_logits_with_gradient_and_bias_gradient(rng, dtype):
    logits, b = 8 * randn(rng, dtype, 5, 11), randn(rng, dtype, 11)
    x = rng.random((5, 11)).astype(dtype)
    x[0] = 1.0
    nll = BernoulliNLL()
    rows = nll.forward(x, logits + b)
    dl = nll.backward(0.25)
    fused, out_rows, bgrad = logits.copy(), np.empty(5, dtype), np.zeros(11, dtype)
    fe.bernoulli_nll(fused, b, x, dtype(0.25), out_rows, bgrad)
    assert_close(out_rows, rows, dtype, atol_scale=np.abs(logits).sum(axis=1).max())
    # sigmoid here from e^{−|l|}, there from tanh: equal to the rounding of a sigmoid (≤ 1).
    assert_close(fused, dl, dtype, atol_scale=0.25)
    assert_close(bgrad, dl.sum(axis=0), dtype, atol_scale=0.25 * 5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reparameterisation_and_kl_forward_and_backward(rng, dtype):
    m, k = 6, 3
    stats, b = randn(rng, dtype, m, 2 * k), randn(rng, dtype, 2 * k)
    eps, dz = randn(rng, dtype, m, k), randn(rng, dtype, m, k)
    full = stats + b
    mu, logvar = full[:, :k], full[:, k:]
    reparam, kl = Reparameterize(), GaussianKL()
    z_ref, kl_ref = reparam.forward(mu, logvar, eps), kl.forward(mu, logvar)
    dmu, dlogvar = reparam.backward(dz)
    kmu, klogvar = kl.backward(dtype(0.7))
    fused = stats.copy()
    z, noise, var = (np.empty((m, k), dtype) for _ in range(3))
    kl_rows = np.empty(m, dtype)
    fe.reparameterize_kl(fused, b, eps, z, noise, var, kl_rows)
    assert_close(z, z_ref, dtype, atol_scale=1.0)
    assert_close(kl_rows, kl_ref, dtype, atol_scale=np.abs(full).sum(axis=1).max())
    dstats, bgrad = np.empty((m, 2 * k), dtype), np.zeros(2 * k, dtype)
    fe.reparameterize_kl_backward(dz, fused, noise, var, dtype(0.7), dstats, bgrad)
    expected = np.concatenate([dmu + kmu, dlogvar + klogvar], axis=1)
    assert_close(dstats, expected, dtype, atol_scale=np.abs(expected).max())
    assert_close(bgrad, expected.sum(axis=0), dtype, atol_scale=np.abs(expected).sum(axis=0).max())


@pytest.mark.parametrize("dtype", DTYPES)
def test_sin_dropout_is_sin_and_cos_times_the_mask(rng, dtype):
    z, b = 4 * randn(rng, dtype, 9, 40), randn(rng, dtype, 40)
    z[0, :4] = [3e5, -1e7, 0.0, -0.0] - b[:4]  # beyond the fast reduction, and zeros
    u = rng.random((9, 40)).astype(np.float32)
    a = (z + b).astype(np.float64)
    mask = (u >= 0.3) * (1 / 0.7)
    xdp, cm = np.empty_like(z), np.empty_like(z)
    fe.sin_dropout(z, b, u, np.float32(0.3), dtype(1 / 0.7), xdp, cm, dtype == np.float32)
    expected_x = (np.sin(a).astype(dtype) * dtype(1 / 0.7)) * (mask > 0)
    expected_c = (np.cos(a).astype(dtype) * dtype(1 / 0.7)) * (mask > 0)
    # float32: sin and cos correctly rounded almost always, never off by more than one rounding
    assert_close(xdp, expected_x, dtype, atol_scale=2.0)
    assert_close(cm, expected_c, dtype, atol_scale=2.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multitask_bn_star_kernels_and_scaled_backward(rng, dtype):
    m, a = 7, 4
    x1b, b1b, x2a, b2a, ya = (randn(rng, dtype, *s) for s in [(m, a), (a,), (m, a), (a,), (m, a)])
    running = randn(rng, dtype, a)
    mu = x1b.mean(axis=0)
    xbn = x1b - mu + b1b
    yhat = x2a + b2a
    xplus, da = np.empty((m, a), dtype), np.empty((m, a), dtype)
    expected_running = running * dtype(0.9) + dtype(0.1) * mu
    la = fe.bn_star_forward(x1b, b1b, running, dtype(0.1), x2a, b2a, ya, dtype(0.5), xplus, da)
    assert la == pytest.approx(((yhat - ya) ** 2).sum(), rel=RTOL_SUM[dtype])
    for got, want in [(x1b, xbn), (x2a, yhat), (xplus, yhat + np.maximum(xbn, 0)),
                      (da, 0.5 * (yhat - ya)), (running, expected_running)]:  # fmt: skip
        assert_close(got, want, dtype, atol_scale=4.0)
    dxplus = randn(rng, dtype, m, a)
    dxbn = dxplus * (xbn > 0)
    da_in = da.copy()
    dx1b, gb1b, gb2a = np.empty((m, a), dtype), np.zeros(a, dtype), np.zeros(a, dtype)
    fe.bn_star_backward(dxplus, x1b, da, dx1b, gb1b, gb2a)
    assert_close(dx1b, dxbn - dxbn.mean(axis=0), dtype, atol_scale=4.0)
    assert_close(da, da_in + dxplus, dtype, atol_scale=4.0)
    assert_close(gb1b, dxbn.sum(axis=0), dtype, atol_scale=4.0 * m)
    assert_close(gb2a, (da_in + dxplus).sum(axis=0), dtype, atol_scale=4.0 * m)
    factor, bgrad = randn(rng, dtype, m, a), np.zeros(a, dtype)
    expected = dxplus * factor
    fe.scale_backward_bias_grad(dxplus, factor, bgrad)
    np.testing.assert_array_equal(dxplus, expected)
    assert_close(bgrad, expected.sum(axis=0), dtype, atol_scale=4.0 * m)


RTOL_SUM = {np.float64: 1e-12, np.float32: 1e-6}
