"""The VAE loss pieces: values against direct formulas, gradients against finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.gradcheck import compare, numeric_gradient
from handgrad.nn.vae_losses import (
    BernoulliNLL,
    GaussianKL,
    GaussianNLL,
    Reparameterize,
    SoftClamp,
)

RNG = np.random.default_rng(0)
M, D = 5, 3


def _fd_check(f, arrays: dict[str, np.ndarray], analytic: dict[str, np.ndarray]) -> None:
    for name, a in arrays.items():
        c = compare(name, analytic[name], numeric_gradient(f, a), rtol=1e-6)
        assert c.passed, f"∂/∂{name}: rel err {c.max_rel_err:.2e}"


def test_gaussian_nll_is_minus_log_density() -> None:
    x, mu, logvar = RNG.normal(size=(3, M, D))
    var = np.exp(logvar)
    direct = -np.log(np.exp(-((x - mu) ** 2) / (2 * var)) / np.sqrt(2 * math.pi * var)).sum(1)
    np.testing.assert_allclose(GaussianNLL().forward(x, mu, logvar), direct, rtol=1e-12)


def test_gaussian_nll_gradients() -> None:
    x, mu, logvar = RNG.normal(size=(3, M, D))
    g = RNG.normal(size=M)  # per-example weights
    nll = GaussianNLL()
    nll.forward(x, mu, logvar)
    dmu, dlogvar = nll.backward(g)
    dx = nll.grad_x(g)
    _fd_check(
        lambda: float(nll.forward(x, mu, logvar) @ g),
        {"x": x, "mu": mu, "logvar": logvar},
        {"x": dx, "mu": dmu, "logvar": dlogvar},
    )


def test_bernoulli_nll_is_binary_cross_entropy_and_stable() -> None:
    x = RNG.random((M, D))
    logits = RNG.normal(scale=3, size=(M, D))
    p = 1 / (1 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1)
    np.testing.assert_allclose(BernoulliNLL().forward(x, logits), bce, rtol=1e-12)
    extreme = np.array([[800.0, -800.0]], dtype=np.float32)
    target = np.array([[0.0, 1.0]], dtype=np.float32)
    nll = BernoulliNLL()
    value = nll.forward(target, extreme)
    assert value.dtype == np.float32 and value[0] == pytest.approx(1600.0)
    np.testing.assert_allclose(nll.backward(), [[1.0, -1.0]])


def test_bernoulli_nll_gradients() -> None:
    x = RNG.random((M, D))
    logits = RNG.normal(scale=2, size=(M, D))
    nll = BernoulliNLL()
    nll.forward(x, logits)
    dl, dx = nll.backward(0.5), nll.grad_x(0.5)
    _fd_check(
        lambda: 0.5 * float(nll.forward(x, logits).sum()),
        {"x": x, "logits": logits},
        {"x": dx, "logits": dl},
    )


def test_kl_matches_monte_carlo_and_vanishes_at_the_prior() -> None:
    mu, logvar = np.array([[0.7, -0.3]]), np.array([[-0.5, 0.4]])
    kl = GaussianKL()
    exact = kl.forward(mu, logvar)[0]
    sd = np.exp(0.5 * logvar)
    z = mu + sd * np.random.default_rng(1).standard_normal((400_000, 2))
    log_q = (-0.5 * ((z - mu) / sd) ** 2 - np.log(sd)).sum(1)
    log_p = (-0.5 * z**2).sum(1)
    assert exact == pytest.approx((log_q - log_p).mean(), abs=0.01)
    assert kl.per_dim().sum() == pytest.approx(exact)
    np.testing.assert_allclose(kl.forward(np.zeros((2, 3)), np.zeros((2, 3))), 0.0)


def test_kl_and_reparameterisation_gradients() -> None:
    mu, logvar, eps, dz = RNG.normal(size=(4, M, D))
    kl, rep = GaussianKL(), Reparameterize()
    kl.forward(mu, logvar)
    kmu, klogvar = kl.backward()
    _fd_check(
        lambda: float(kl.forward(mu, logvar).sum()),
        {"mu": mu, "logvar": logvar},
        {"mu": kmu, "logvar": klogvar},
    )
    rep.forward(mu, logvar, eps)
    rmu, rlogvar = rep.backward(dz)
    _fd_check(
        lambda: float((rep.forward(mu, logvar, eps) * dz).sum()),
        {"mu": mu, "logvar": logvar},
        {"mu": rmu, "logvar": rlogvar},
    )


def test_soft_clamp_is_identity_near_zero_and_bounded() -> None:
    clamp = SoftClamp(5.0)
    h = np.array([[1e-3, -1e-3, 40.0, -40.0]])
    y = clamp.forward(h)
    np.testing.assert_allclose(y[0, :2], h[0, :2], rtol=1e-6)
    assert np.all(np.abs(y) < 5.0)
    h = RNG.normal(scale=4, size=(M, D))
    dy = RNG.normal(size=(M, D))
    clamp.forward(h)
    _fd_check(lambda: float((clamp.forward(h) * dy).sum()), {"h": h}, {"h": clamp.backward(dy)})


def test_bad_inputs_raise() -> None:
    with pytest.raises(HandgradError, match="one shape"):
        GaussianNLL().forward(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4)))
    nll = BernoulliNLL()
    nll.forward(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(HandgradError, match="per-example gradient"):
        nll.backward(np.ones(3))
    with pytest.raises(HandgradError, match="dtype"):
        Reparameterize().forward(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2), np.float32))
    with pytest.raises(HandgradError, match="limit"):
        SoftClamp(-1.0)
