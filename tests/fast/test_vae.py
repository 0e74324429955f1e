"""The fused VAE step equals the model's elbo_terms and backward, and passes the
finite-difference gradient check itself."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast.vae import FusedVAEStep, supports
from handgrad.gradcheck import numeric_gradient
from handgrad.models.vae import VAE
from tests.fast.conftest import DTYPES, assert_close


def setup(dtype, beta=0.7):
    x = np.random.default_rng(4).random((6, 10)).astype(dtype)
    vae = VAE(10, 3, (7,), decoder="bernoulli", beta=beta, rng=1, dtype=dtype)
    return x, vae


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_step_equals_the_model(dtype):
    x, vae = setup(dtype)
    terms = vae.elbo_terms(x, rng=np.random.default_rng(8))
    vae.zero_grad()
    vae.loss_backward(input_grad=False)
    expected = [p.grad.copy() for p in vae.parameters()]

    fused = FusedVAEStep(vae)
    vae.zero_grad()
    fused_terms = fused.elbo_terms(x, np.random.default_rng(8))  # the same ε
    fused.backward()
    assert_close(fused_terms.rec, terms.rec, dtype, atol_scale=10.0)
    assert_close(fused_terms.kl, terms.kl, dtype, atol_scale=10.0)
    assert fused_terms.beta == terms.beta
    for p, g in zip(vae.parameters(), expected, strict=True):
        assert_close(p.grad, g, dtype, atol_scale=np.abs(g).max())


def test_fused_step_passes_the_gradient_check():
    x, vae = setup(np.float64)
    fused = FusedVAEStep(vae)

    def loss() -> float:
        return fused.elbo_terms(x, np.random.default_rng(8)).loss  # ε fixed by the seed

    vae.zero_grad()
    loss()
    fused.backward()
    analytic = [p.grad.copy() for p in vae.parameters()]
    for p, g in zip(vae.parameters(), analytic, strict=True):
        np.testing.assert_allclose(
            g, numeric_gradient(loss, p.data, eps=1e-6), rtol=1e-6, atol=1e-8
        )


def test_supports_bernoulli_relu_vaes_only():
    assert supports(VAE(4, 2, (3,), decoder="bernoulli"))
    assert not supports(VAE(4, 2, (3,), decoder="gaussian"))
    assert not supports(VAE(4, 2, (3,), decoder="bernoulli", activation="tanh"))
    with pytest.raises(HandgradError, match="supports Bernoulli decoders"):
        FusedVAEStep(VAE(4, 2, (3,)))
    x, vae = setup(np.float32)
    with pytest.raises(HandgradError, match="expects x of shape"):
        FusedVAEStep(vae).elbo_terms(x[:, :4], np.random.default_rng(0))
