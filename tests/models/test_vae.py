"""The VAE: hand-derived gradients against finite differences and autograd, and its API."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from handgrad.errors import HandgradError
from handgrad.gradcheck import compare, numeric_gradient
from handgrad.models.vae import VAE
from handgrad.nn.linear import Linear
from handgrad.nn.module import Module

X_DIM, LATENT, HIDDEN, M = 3, 2, (5, 4), 6
DECODERS = ["gaussian", "bernoulli"]


def _setup(decoder: str, beta: float = 1.0, activation: str = "relu"):
    """A float64 VAE, a batch x (in [0, 1] for Bernoulli) and a fixed ε."""
    vae = VAE(
        X_DIM,
        LATENT,
        HIDDEN,
        decoder=decoder,
        beta=beta,
        activation=activation,
        rng=3,
        dtype=np.float64,
        logvar_limit=4.0,
    )
    rng = np.random.default_rng(11)
    x = rng.random((M, X_DIM)) if decoder == "bernoulli" else rng.normal(size=(M, X_DIM))
    eps = rng.standard_normal((M, LATENT))
    return vae, x, eps


def hand_gradients(model: VAE | Module, x: np.ndarray, eps: np.ndarray) -> dict[str, np.ndarray]:
    """∂L/∂x and every parameter's gradient from the hand-derived backward of ``model``
    (a VAE, or its IWAE bound: anything with ``loss(x, eps=…)`` and ``loss_backward``)."""
    model.zero_grad()
    model.loss(x, eps=eps)
    dx = model.loss_backward()
    return {"x": dx} | {n: p.grad.copy() for n, p in model.named_parameters()}


def assert_matches_finite_differences(model, x: np.ndarray, eps: np.ndarray, label: str) -> None:
    """`hand_gradients` of ``model`` against central finite differences of its loss."""
    hand = hand_gradients(model, x, eps)
    arrays = {"x": x} | {n: p.data for n, p in model.named_parameters()}
    for name, array in arrays.items():
        numeric = numeric_gradient(lambda: model.loss(x, eps=eps), array)
        check = compare(name, hand[name], numeric, rtol=1e-6)
        assert check.passed, f"{label} ∂L/∂{name}: rel err {check.max_rel_err:.2e}"


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_gradients_match_finite_differences(decoder: str, beta: float) -> None:
    vae, x, eps = _setup(decoder, beta)
    assert_matches_finite_differences(vae, x, eps, decoder)


def reference_mlp(layers, h, params):
    """The Linear/ReLU stack ``layers`` in autograd.numpy, its weights taken from the
    iterator ``params`` (weight, bias per Linear)."""
    linears = [layer for layer in layers if isinstance(layer, Linear)]
    for i, _ in enumerate(linears):
        w, b = next(params), next(params)
        h = anp.dot(h, w.T) + b
        if i < len(linears) - 1:
            h = anp.maximum(h, 0.0)
    return h


def reference_nll(vae: VAE, x, out):
    """−log p(x | z) per row from the decoder's output ``out``, in autograd.numpy."""
    d = vae.x_dim
    if vae.decoder_kind == "gaussian":
        c = vae.clamp.limit
        lv = c * anp.tanh(out[:, d:] / c)
        return 0.5 * anp.sum(anp.log(2 * anp.pi) + lv + (x - out[:, :d]) ** 2 / anp.exp(lv), axis=1)
    return anp.sum(anp.logaddexp(0.0, out) - x * out, axis=1)


def _reference_loss(vae: VAE, x, eps, *params):
    """−ELBO written directly in autograd.numpy, independently of handgrad's backward."""
    it = iter(params)
    k = vae.latent
    stats = reference_mlp(vae.encoder.layers, x, it)
    mu, logvar = stats[:, :k], stats[:, k:]
    z = mu + anp.exp(0.5 * logvar) * eps
    nll = reference_nll(vae, x, reference_mlp(vae.decoder.layers, z, it))
    kl = 0.5 * anp.sum(mu**2 + anp.exp(logvar) - 1 - logvar, axis=1)
    return anp.mean(nll + vae.beta * kl)


@pytest.mark.parametrize("decoder", DECODERS)
def test_gradients_match_autograd(decoder: str) -> None:
    vae, x, eps = _setup(decoder, beta=0.7)
    names = ["x"] + [n for n, _ in vae.named_parameters()]
    args = [x] + [p.data.copy() for _, p in vae.named_parameters()]
    loss = vae.loss(x, eps=eps)
    assert loss == pytest.approx(float(_reference_loss(vae, x, eps, *args[1:])), rel=1e-12)
    hand = hand_gradients(vae, x, eps)

    def objective(*a):
        return _reference_loss(vae, a[0], eps, *a[1:])

    for i, name in enumerate(names):
        check = compare(name, hand[name], grad(objective, i)(*args), rtol=1e-9)
        assert check.passed, f"{decoder} ∂L/∂{name}: rel err {check.max_rel_err:.2e}"


def test_backward_without_input_grad_gives_the_same_parameter_gradients() -> None:
    vae, x, eps = _setup("gaussian")
    hand = hand_gradients(vae, x, eps)
    vae.zero_grad()
    vae.loss(x, eps=eps)
    assert vae.loss_backward(input_grad=False) is None
    for n, p in vae.named_parameters():
        np.testing.assert_array_equal(p.grad, hand[n])


def test_loss_is_reconstruction_plus_beta_kl_and_neg_elbo_ignores_beta() -> None:
    vae, x, eps = _setup("gaussian", beta=0.25)
    terms = vae.elbo_terms(x, eps=eps)
    assert terms.rec.shape == terms.kl.shape == (M,)
    assert terms.loss == pytest.approx(terms.rec.mean() + 0.25 * terms.kl.mean())
    assert terms.neg_elbo == pytest.approx(terms.rec.mean() + terms.kl.mean())
    assert np.all(terms.kl >= 0)
    assert vae.kl_per_dim().sum(axis=1) == pytest.approx(terms.kl)


def test_eps_drawn_from_given_rng_is_reproducible() -> None:
    vae, x, _ = _setup("bernoulli")
    a = vae.loss(x, rng=np.random.default_rng(5))
    b = vae.loss(x, rng=np.random.default_rng(5))
    c = vae.loss(x, rng=np.random.default_rng(6))
    assert a == b != c


def test_float32_stays_float32() -> None:
    vae = VAE(4, 2, (8,), rng=0)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    terms = vae.elbo_terms(x)
    assert terms.rec.dtype == terms.kl.dtype == np.float32
    vae.loss_backward()
    assert all(p.grad.dtype == np.float32 for p in vae.parameters())
    assert vae.sample(3).dtype == np.float32
    mu, logvar = vae.encode(x)
    assert mu.dtype == logvar.dtype == np.float32 and mu.shape == (5, 2)


def test_architecture_mirrors_hidden_sizes() -> None:
    vae = VAE(784, 20, (400,), decoder="bernoulli", rng=0)
    shapes = [p.shape for p in vae.parameters()]
    assert shapes == [(400, 784), (400,), (40, 400), (40,), (400, 20), (400,), (784, 400), (784,)]
    gauss = VAE(2, 3, (7, 5), rng=0)
    assert gauss.decoder.layers[-1].out_features == 4  # [μ_x | logσ_x²]
    assert "2-7-5-3" in repr(gauss)


def test_same_seed_same_weights_and_state_dict_round_trip() -> None:
    a, b = VAE(2, 2, (6,), rng=4), VAE(2, 2, (6,), rng=4)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    c = VAE(2, 2, (6,), rng=5)
    c.load_state_dict(a.state_dict())
    z = np.zeros((1, 2), dtype=np.float32)
    np.testing.assert_array_equal(c.decode(z), a.decode(z))


def test_sampling_with_and_without_decoder_noise() -> None:
    vae = VAE(2, 2, (8,), rng=0)
    z = np.random.default_rng(1).standard_normal((400, 2)).astype(np.float32)
    means = vae.decode(z)
    np.testing.assert_array_equal(means, vae.decode(z))  # deterministic
    noisy = vae.decode(z, decoder_noise=True, rng=2)
    assert noisy.shape == (400, 2) and not np.allclose(noisy, means)
    # at init logσ_x² ≈ small, so the noise has roughly unit scale
    assert 0.3 < np.std(noisy - means) < 3.0
    np.testing.assert_array_equal(vae.sample(5, rng=9), vae.sample(5, rng=9))


def test_bernoulli_samples_are_binary_and_means_are_probabilities() -> None:
    vae = VAE(6, 2, (8,), decoder="bernoulli", rng=0)
    p = vae.sample(50, decoder_noise=False, rng=1)
    assert np.all((p > 0) & (p < 1))
    b = vae.sample(50, decoder_noise=True, rng=1)
    assert set(np.unique(b)) <= {0.0, 1.0}


def test_reconstruct_uses_the_posterior_mean() -> None:
    vae, x, _ = _setup("gaussian")
    mu, _ = vae.encode(x)
    np.testing.assert_array_equal(vae.reconstruct(x), vae.decode(mu))
    assert not np.array_equal(vae.reconstruct(x, sample_latent=True, rng=0), vae.decode(mu))


def test_decoder_logvar_is_soft_clamped() -> None:
    vae = VAE(2, 1, (4,), rng=0, dtype=np.float64, logvar_limit=3.0)
    last = vae.decoder.layers[-1]
    last.bias.data[2:] = 1e6  # raw logσ² head output far out of range
    _, logvar = vae.decoder_params(np.zeros((1, 1)))
    assert np.all(logvar <= 3.0) and np.all(logvar > 2.99)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"decoder": "poisson"}, "unknown decoder"),
        ({"activation": "swish"}, "unknown activation"),
        ({"beta": -1.0}, "beta"),
        ({"hidden": (0,)}, "positive"),
        ({"logvar_limit": 0.0}, "log-variance limit"),
    ],
)
def test_bad_settings_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(HandgradError, match=match):
        VAE(2, **kwargs)


def test_bad_inputs_raise() -> None:
    vae = VAE(3, 2, (4,), rng=0)
    x = np.zeros((4, 3), dtype=np.float32)
    with pytest.raises(HandgradError, match="ε must have shape"):
        vae.loss(x, eps=np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(HandgradError, match="float64"):
        vae.loss(x.astype(np.float64))
    with pytest.raises(HandgradError, match="shape"):
        vae.encode(np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(HandgradError, match="samples"):
        vae.sample(0)
