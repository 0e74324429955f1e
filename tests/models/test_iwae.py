"""The IWAE bound: its hand-derived gradient against finite differences and autograd, and
the log-likelihood estimate: ≥ the ELBO, rising with k, the same whatever the batching."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from tests.models.test_vae import (
    DECODERS,
    _setup,
    assert_matches_finite_differences,
    hand_gradients,
    reference_mlp,
    reference_nll,
)

from handgrad.errors import HandgradError
from handgrad.gradcheck import compare
from handgrad.models.iwae import IWAE, log_likelihood
from handgrad.models.vae import VAE

K = 4  # importance samples per example in the gradient checks


def _iwae_setup(decoder: str):
    vae, x, _ = _setup(decoder)
    eps = np.random.default_rng(12).standard_normal((x.shape[0], K, vae.latent))
    return vae, IWAE(vae, K), x, eps


def logsumexp(a, axis):
    """log Σ exp(a) along ``axis``, shifted by the maximum (autograd.numpy)."""
    top = anp.max(a, axis=axis, keepdims=True)
    return anp.log(anp.sum(anp.exp(a - top), axis=axis)) + anp.squeeze(top, axis)


def _reference(vae: VAE, x, eps, *params):
    """−mean_i log (1/k) Σ_j w_ij, written in autograd.numpy from the definition."""
    it = iter(params)
    m, k, latent = eps.shape
    stats = reference_mlp(vae.encoder.layers, x, it)
    mu, logvar = stats[:, :latent], stats[:, latent:]
    z = mu[:, None, :] + anp.exp(0.5 * logvar)[:, None, :] * eps
    out = reference_mlp(vae.decoder.layers, anp.reshape(z, (m * k, latent)), it)
    log_px = -anp.reshape(reference_nll(vae, anp.repeat(x, k, axis=0), out), (m, k))
    log_pz = -0.5 * anp.sum(z**2 + anp.log(2 * anp.pi), axis=2)
    log_qz = -0.5 * anp.sum(eps**2 + anp.log(2 * anp.pi) + logvar[:, None, :], axis=2)
    return -anp.mean(logsumexp(log_px + log_pz - log_qz, axis=1) - anp.log(k))


@pytest.mark.parametrize("decoder", DECODERS)
def test_gradients_match_finite_differences(decoder: str) -> None:
    _, iwae, x, eps = _iwae_setup(decoder)
    assert_matches_finite_differences(iwae, x, eps, f"IWAE {decoder}")


@pytest.mark.parametrize("decoder", DECODERS)
def test_gradients_match_autograd(decoder: str) -> None:
    vae, iwae, x, eps = _iwae_setup(decoder)
    params = [p.data.copy() for _, p in iwae.named_parameters()]
    assert iwae.loss(x, eps=eps) == pytest.approx(float(_reference(vae, x, eps, *params)), 1e-12)
    hand = hand_gradients(iwae, x, eps)
    names = ["x"] + [n for n, _ in iwae.named_parameters()]

    def objective(*a):
        return _reference(vae, a[0], eps, *a[1:])

    for i, name in enumerate(names):
        check = compare(name, hand[name], grad(objective, i)(x, *params), rtol=1e-9)
        assert check.passed, f"{decoder} ∂L/∂{name}: rel err {check.max_rel_err:.2e}"


def test_one_sample_bound_is_the_elbo_with_a_sampled_kl() -> None:
    """With k = 1 and ε shared, −L_1 = NLL + log q(z|x) − log p(z), whose mean over ε is
    the −ELBO: here the closed-form KL is replaced by its one-sample estimate."""
    vae, x, eps = _setup("bernoulli")
    terms = vae.elbo_terms(x, eps=eps)
    mu, logvar = vae.encode(x)
    z = mu + np.exp(0.5 * logvar) * eps
    sampled_kl = 0.5 * ((z**2) - eps**2 - logvar).sum(axis=1)
    np.testing.assert_allclose(
        IWAE(vae, 1).forward(x, eps=eps[:, None, :]), terms.rec + sampled_kl, rtol=1e-12
    )


def _model_and_data():
    vae = VAE(6, 2, (8,), decoder="bernoulli", rng=0, dtype=np.float64)
    x = (np.random.default_rng(1).random((200, 6)) < 0.3).astype(np.float64)
    return vae, x


def test_log_likelihood_is_above_the_elbo_and_rises_with_k() -> None:
    vae, x = _model_and_data()
    vae.eval()
    elbo = -vae.elbo_terms(x, rng=np.random.default_rng(2)).neg_elbo
    means = [log_likelihood(vae, x, k, rng=np.random.default_rng(3)).mean() for k in (1, 10, 100)]
    assert abs(means[0] - elbo) < 0.5  # L_1 estimates the ELBO itself
    assert elbo < means[1] < means[2]  # … and more samples tighten the bound


def test_log_likelihood_does_not_depend_on_the_chunking() -> None:
    """One example at a time, any chunk of samples draws the same ε: the same estimate."""
    vae, x = _model_and_data()
    whole = log_likelihood(vae, x[:5], 64, rng=np.random.default_rng(4), rows=64)
    chunked = log_likelihood(vae, x[:5], 64, rng=np.random.default_rng(4), rows=10)
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)


def test_bad_sample_counts_are_one_line_errors() -> None:
    vae, x = _model_and_data()
    with pytest.raises(HandgradError, match="k ≥ 1"):
        log_likelihood(vae, x, 0)
    with pytest.raises(HandgradError, match="k ≥ 1"):
        IWAE(vae, 0)
    with pytest.raises(HandgradError, match="before forward"):
        IWAE(vae, 2).loss_backward()
