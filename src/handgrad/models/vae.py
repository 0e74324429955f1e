"""Variational auto-encoder (Kingma & Welling 2014) with every gradient derived by hand.

Model, for data x ∈ R^D and latent z ∈ R^K::

    encoder:  [μ_z | logσ_z²] = E(x)              MLP: Linear → act → … → Linear(h, 2K)
    sample:   z = μ_z + σ_z ⊙ ε,  ε ~ N(0, I)     (reparameterisation)
    decoder:  gaussian:  [μ_x | h] = G(z), logσ_x² = c · tanh(h / c)   (learned variance)
              bernoulli: l = G(z), p(x | z) = Bernoulli(sigmoid(l))
    loss:     L = (1/m) Σ_i [NLL(x_i | z_i) + β · KL(q(z | x_i) ‖ N(0, I))]

With β = 1 the per-example loss is −ELBO_i ≥ −log p(x_i), in nats per point (per image
for MNIST, summed over pixels like the PyTorch example). The pieces and their gradients
are in `handgrad.nn.vae_losses`; ``backward`` chains them through the two MLPs.

The decoder's logσ_x² is soft-clamped to (−c, c) (``logvar_limit``, default 10): on 2-D
data a decoder that fits some points almost exactly could otherwise push σ_x² → 0 and
(x − μ)²/σ² to overflow in float32. The clamp is the identity near 0, so it does not
change what the model can learn for data on any reasonable scale.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.activations import ACTIVATIONS
from handgrad.nn.init import RngLike, as_rng
from handgrad.nn.linear import Linear
from handgrad.nn.module import Module, Sequential, check_input
from handgrad.nn.vae_losses import (
    BernoulliNLL,
    GaussianKL,
    GaussianNLL,
    Reparameterize,
    SoftClamp,
)

DECODERS = ("gaussian", "bernoulli")


@dataclass(frozen=True)
class ELBOTerms:
    """Per-example terms of one batch: reconstruction NLL (m,) and KL (m,), in nats.

    ``neg_elbo`` is their sum (β = 1); ``loss`` the objective that was optimised,
    mean(NLL + β · KL).
    """

    rec: np.ndarray
    kl: np.ndarray
    beta: float

    @property
    def neg_elbo(self) -> float:
        return float(self.rec.mean() + self.kl.mean())

    @property
    def loss(self) -> float:
        return float(self.rec.mean() + self.beta * self.kl.mean())


@dataclass
class VAEForward:
    """The forward quantities of one batch, named as in the model (see the module doc).

    x (m, D); mu = μ_z, logvar = logσ_z², eps = ε, z (m, K); a (m, D) the decoder's
    mean μ_x (gaussian) or logits l (bernoulli); logvar_x = logσ_x² (m, D) or None.
    The loss pieces (``nll``, ``kl``, ``reparameterize``, ``clamp``) keep their own."""

    x: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    eps: np.ndarray
    z: np.ndarray
    a: np.ndarray
    logvar_x: np.ndarray | None


def _mlp(
    sizes: Sequence[int], activation: str, rng: np.random.Generator, dtype: np.dtype, init: str
) -> Sequential:
    """Linear layers between consecutive ``sizes``, an activation after each but the last."""
    layers: list[Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(n_in, n_out, rng=rng, dtype=dtype, init=init))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return Sequential(*layers)


class VAE(Module):
    """A VAE with MLP encoder and decoder and a Gaussian or Bernoulli decoder.

    Args:
        x_dim: D, the data dimension (2 for the toy data, 784 for MNIST).
        latent: K, the latent dimension.
        hidden: widths of the encoder's hidden layers; the decoder mirrors them
            (hidden=(400,) gives the PyTorch example's 784-400-20-400-784).
        decoder: "gaussian" (diagonal, learned variance) or "bernoulli" (logits).
        beta: weight of the KL term in the optimised loss (1 gives −ELBO).
        activation: hidden activation, a key of `handgrad.nn.ACTIVATIONS`.
        logvar_limit: c of the decoder's soft clamp logσ_x² = c · tanh(h/c) (gaussian only).
        rng: seeds the initialisation and, afterwards, ε during training.
        dtype: float32 for training, float64 for gradient checks.
        init: weight init of every Linear ("uniform" is PyTorch's default).

    The layer contract: ``forward(x)`` returns the per-example objective
    ℓ_i = NLL_i + β KL_i (m,) and ``backward(dy)`` takes dy = ∂L/∂ℓ (m,) (or one number
    for every row). For training, ``loss(x)`` = mean_i ℓ_i and ``loss_backward()``.
    Any other call in between (``encode``, ``sample``, …) overwrites what backward needs.
    """

    def __init__(
        self,
        x_dim: int,
        latent: int = 2,
        hidden: Sequence[int] = (64, 64),
        *,
        decoder: str = "gaussian",
        beta: float = 1.0,
        activation: str = "relu",
        logvar_limit: float = 10.0,
        rng: RngLike = None,
        dtype: np.dtype | type = np.float32,
        init: str = "uniform",
    ):
        hidden = tuple(int(h) for h in hidden)
        if x_dim < 1 or latent < 1 or any(h < 1 for h in hidden):
            raise HandgradError(
                f"VAE sizes must be positive: x_dim={x_dim}, latent={latent}, hidden={hidden}"
            )
        if decoder not in DECODERS:
            raise HandgradError(f"unknown decoder {decoder!r}; choose one of {list(DECODERS)}")
        if activation not in ACTIVATIONS:
            raise HandgradError(
                f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}"
            )
        self.x_dim, self.latent, self.hidden = int(x_dim), int(latent), hidden
        self.decoder_kind = decoder
        self.beta = float(beta)
        if not (self.beta >= 0 and np.isfinite(self.beta)):
            raise HandgradError(f"beta must be a number ≥ 0, got {beta}")
        self.activation = activation
        self.rng = as_rng(rng)
        dt = np.dtype(dtype)
        out = 2 * self.x_dim if decoder == "gaussian" else self.x_dim
        self.encoder = _mlp((self.x_dim, *hidden, 2 * self.latent), activation, self.rng, dt, init)
        self.decoder = _mlp((self.latent, *reversed(hidden), out), activation, self.rng, dt, init)
        self.clamp = SoftClamp(logvar_limit)
        self.nll = GaussianNLL() if decoder == "gaussian" else BernoulliNLL()
        self.kl = GaussianKL()
        self.reparameterize = Reparameterize()

    @property
    def dtype(self) -> np.dtype:
        return self.encoder.layers[0].weight.data.dtype

    def __repr__(self) -> str:
        sizes = "-".join(map(str, (self.x_dim, *self.hidden, self.latent)))
        return f"VAE({sizes}, decoder={self.decoder_kind}, beta={self.beta:g})"

    # --- the two networks ---------------------------------------------------------
    def layer_outputs(self, x: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
        """(where, output) of each layer on x (m, D), in order: the encoder's, then the
        decoder's on z = μ_z (no noise), for `handgrad.training.numerics.locate_nonfinite`
        to say where a non-finite number first appears."""
        h = x
        for i, layer in enumerate(self.encoder.layers):
            h = layer.forward(h)
            yield f"encoder layer {i} ({layer!r})", h
        h = h[:, : self.latent]
        for i, layer in enumerate(self.decoder.layers):
            h = layer.forward(h)
            yield f"decoder layer {i} ({layer!r}) on z = μ", h

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """q(z | x): x (m, D) → (μ_z, logσ_z²), each (m, K)."""
        check_input(self, x, 2, self.x_dim)
        stats = self.encoder.forward(x)
        return stats[:, : self.latent], stats[:, self.latent :]

    def decoder_params(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """z (m, K) → (μ_x, logσ_x²) for gaussian, (logits, None) for bernoulli; each (m, D)."""
        out = self.decoder.forward(z)
        if self.decoder_kind == "bernoulli":
            return out, None
        return out[:, : self.x_dim], self.clamp.forward(out[:, self.x_dim :])

    def decode(self, z: np.ndarray, decoder_noise: bool = False, rng: RngLike = None) -> np.ndarray:
        """p(x | z): z (m, K) → x (m, D): the decoder mean, or a draw from p(x | z).

        Mean: μ_x (gaussian) or p = sigmoid(l) (bernoulli). With ``decoder_noise`` a
        sample: μ_x + σ_x ⊙ ε, or Bernoulli(p) as 0/1 values.
        """
        check_input(self, z, 2, self.latent)
        a, logvar = self.decoder_params(z.astype(self.dtype, copy=False))
        if logvar is not None:
            if not decoder_noise:
                return a
            noise = as_rng(rng if rng is not None else self.rng).standard_normal(
                a.shape, dtype=a.dtype
            )
            return a + np.exp(0.5 * logvar) * noise
        p = 0.5 * (np.tanh(0.5 * a) + 1)
        if not decoder_noise:
            return p
        u = as_rng(rng if rng is not None else self.rng).random(p.shape, dtype=p.dtype)
        return (u < p).astype(p.dtype)

    def sample(self, n: int, decoder_noise: bool = True, rng: RngLike = None) -> np.ndarray:
        """n draws from the model: z ~ N(0, I), then ``decode(z, decoder_noise)``; (n, D)."""
        if n < 1:
            raise HandgradError(f"number of samples must be ≥ 1, got {n}")
        gen = as_rng(rng if rng is not None else self.rng)
        z = gen.standard_normal((n, self.latent), dtype=self.dtype)
        return self.decode(z, decoder_noise, gen)

    def reconstruct(
        self, x: np.ndarray, sample_latent: bool = False, rng: RngLike = None
    ) -> np.ndarray:
        """x (m, D) → decoder mean at z = μ_z(x) (or a sampled z), (m, D)."""
        mu, logvar = self.encode(x)
        z = mu
        if sample_latent:
            gen = as_rng(rng if rng is not None else self.rng)
            z = mu + np.exp(0.5 * logvar) * gen.standard_normal(mu.shape, dtype=mu.dtype)
        return self.decode(z)

    # --- the objective ------------------------------------------------------------
    def elbo_terms(
        self, x: np.ndarray, eps: np.ndarray | None = None, rng: RngLike = None
    ) -> ELBOTerms:
        """Forward pass of the loss on a batch x (m, D); saves what ``backward`` needs.

        ε (m, K) is drawn from ``rng`` (default: the model's own Generator) unless given;
        pass it explicitly to make the loss a deterministic function (gradient checks).
        """
        mu, logvar = self.encode(x)
        if eps is None:
            gen = as_rng(rng if rng is not None else self.rng)
            eps = gen.standard_normal(mu.shape, dtype=mu.dtype)
        elif eps.shape != mu.shape:
            raise HandgradError(f"ε must have shape {mu.shape} (m, latent), got {eps.shape}")
        z = self.reparameterize.forward(mu, logvar, eps)
        a, logvar_x = self.decoder_params(z)
        rec = self.nll.forward(x, a) if logvar_x is None else self.nll.forward(x, a, logvar_x)
        kl = self.kl.forward(mu, logvar)
        self.residuals = VAEForward(x, mu, logvar, eps, z, a, logvar_x)
        return ELBOTerms(rec, kl, self.beta)

    def forward(  # type: ignore[override]
        self, x: np.ndarray, eps: np.ndarray | None = None, rng: RngLike = None
    ) -> np.ndarray:
        """ℓ_i = NLL_i + β KL_i for each row of x (m, D) → (m,); see ``elbo_terms``."""
        terms = self.elbo_terms(x, eps, rng)
        return terms.rec + terms.rec.dtype.type(self.beta) * terms.kl

    def loss(self, x: np.ndarray, eps: np.ndarray | None = None, rng: RngLike = None) -> float:
        """L = mean_i [NLL_i + β KL_i] on the batch x (m, D); see ``elbo_terms``."""
        return self.elbo_terms(x, eps, rng).loss

    objective = elbo_terms
    """The training objective of a batch, as a training step calls it: `ELBOTerms`."""

    def kl_per_dim(self) -> np.ndarray:
        """KL of the last forward pass split by latent dimension, (m, K)."""
        return self.kl.per_dim()

    def backward(self, dy: float | np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Accumulate ∂L/∂θ into every parameter's grad for g = dy = ∂L/∂ℓ_i (m,) (or one
        number g for every row) of the last forward; return ∂L/∂x (m, D) if ``input_grad``.

            decoder:  d[μ_x | h] from the NLL (h through the soft clamp), back through G;
            z:        dμ_z = dz + β g μ_z;  dlogσ_z² = ½ dz ⊙ σ ⊙ ε + ½ β g (σ² − 1);
            encoder:  d[μ_z | logσ_z²] back through E;
            x:        dx = (back through E) + ∂NLL/∂x · g   (x enters the encoder and the NLL).
        """
        if self.residuals is None:
            raise HandgradError(f"{self!r}.backward called before forward; run forward first")
        g = dy
        dz = self.decoder_backward(g)
        dmu, dlogvar = self.reparameterize.backward(dz)
        kmu, klogvar = self.kl.backward(self.beta * g)
        dstats = np.concatenate([dmu + kmu, dlogvar + klogvar], axis=1)
        dx = self.encoder.backward(dstats, input_grad=input_grad)
        return None if dx is None else dx + self.nll.grad_x(g)

    def decoder_backward(self, g: float | np.ndarray) -> np.ndarray:
        """∂L/∂z (m, K) of the last decoder pass for g = ∂L/∂NLL_i (m,) (or one number),
        accumulating the decoder's parameter gradients: d[μ_x | h] from the NLL (h through
        the soft clamp) or dl, back through G."""
        if self.decoder_kind == "bernoulli":
            dout = self.nll.backward(g)
        else:
            dmu_x, dlogvar_x = self.nll.backward(g)
            dout = np.concatenate([dmu_x, self.clamp.backward(dlogvar_x)], axis=1)
        return self.decoder.backward(dout)

    def loss_backward(self, dloss: float = 1.0, *, input_grad: bool = True) -> np.ndarray | None:
        """``backward`` for L = mean_i ℓ_i of the last forward: g = dL/m for every row.
        Training passes ``input_grad=False`` and skips the (m × h × D) product for ∂L/∂x."""
        if self.residuals is None:
            raise HandgradError(f"{self!r}.backward called before forward; run forward first")
        return self.backward(dloss / self.residuals.x.shape[0], input_grad=input_grad)
