"""The fused VAE step equals the model's elbo_terms and backward, and passes the
finite-difference gradient check itself."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast.steps.vae import FusedVAEStep
from handgrad.gradcheck import numeric_gradient
from handgrad.models.vae import VAE
from handgrad.optim import Adam
from tests.fast.conftest import DTYPES, assert_close


def fused(vae: VAE) -> FusedVAEStep:
    """The fused step of ``vae`` (Adam: dL = 1); its optimiser never steps here."""
    return FusedVAEStep("fused", vae, None, Adam(vae.parameters()), lambda *_: None)


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

    step = fused(vae)
    fused_terms = step.forward(x, rng=np.random.default_rng(8))  # the same ε
    step.update()
    assert_close(fused_terms.rec, terms.rec, dtype, atol_scale=10.0)
    assert_close(fused_terms.kl, terms.kl, dtype, atol_scale=10.0)
    assert fused_terms.beta == terms.beta
    for p, g in zip(vae.parameters(), expected, strict=True):
        assert_close(p.grad, g, dtype, atol_scale=np.abs(g).max())


def test_fused_step_passes_the_gradient_check():
    x, vae = setup(np.float64)
    step = fused(vae)

    def loss() -> float:
        return step.forward(x, rng=np.random.default_rng(8)).loss  # ε fixed by the seed

    loss()
    step.update()
    analytic = [p.grad.copy() for p in vae.parameters()]
    for p, g in zip(vae.parameters(), analytic, strict=True):
        np.testing.assert_allclose(
            g, numeric_gradient(loss, p.data, eps=1e-6), rtol=1e-6, atol=1e-8
        )


def test_supports_bernoulli_relu_vaes_on_their_elbo_only():
    assert FusedVAEStep.supports(VAE(4, 2, (3,), decoder="bernoulli"), None)
    assert not FusedVAEStep.supports(VAE(4, 2, (3,), decoder="gaussian"), None)
    assert not FusedVAEStep.supports(VAE(4, 2, (3,), decoder="bernoulli", activation="tanh"), None)
    x, vae = setup(np.float32)
    with pytest.raises(HandgradError, match="expects x of shape"):
        fused(vae).forward(x[:, :4], rng=np.random.default_rng(0))
