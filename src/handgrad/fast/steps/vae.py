"""The fused training step of a Bernoulli-decoder ReLU `handgrad.models.VAE`.

The same formulas as ``VAE.elbo_terms`` → ``VAE.loss_backward`` (see
`handgrad.models.vae`): encoder and decoder run as
`handgrad.fast.steps.relu_stack.ReluStack` s; the encoder's last bias, the
reparameterisation and the KL term are one pass (`handgrad.fast.kernels.reparameterize_kl`,
and its backward), the decoder's last bias, the Bernoulli NLL and its gradient another
(`handgrad.fast.kernels.bernoulli_nll`). ε is drawn exactly as the model draws it.
Supported: Bernoulli decoders and ReLU activations, trained on the ELBO.

`train_chunk` of a VAE with one hidden layer on each side under `handgrad.optim.Adam`
(the MNIST VAE) runs the whole chunk of steps in one compiled call
(`handgrad.fast.kernels.vae_adam`), on two threads where two cores are free; other VAEs
and optimisers step batch by batch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast import blas
from handgrad.fast.kernels.bernoulli_nll import bernoulli_nll
from handgrad.fast.kernels.reparameterize_kl import (
    reparameterize_kl,
    reparameterize_kl_backward,
)
from handgrad.fast.kernels.vae_adam import SteppedVAE
from handgrad.fast.step import Step
from handgrad.fast.steps import fused_step
from handgrad.fast.steps.relu_stack import ReluStack, relu_linears
from handgrad.models.vae import VAE, ELBOTerms
from handgrad.nn.init import as_rng
from handgrad.optim import Adam


class VAEStepResiduals(NamedTuple):
    """What the backward pass needs: the encoder's output μ | logσ² (m, 2K), the noise
    σ ⊙ ε and σ² (m, K), and g · ∂(rec)/∂(logits) (m, D) written over the logits."""

    stats: np.ndarray
    noise: np.ndarray
    var: np.ndarray
    dlogits: np.ndarray


@fused_step(VAE)
class FusedVAEStep(Step):
    """``forward(xb, rng=rng)``: xb (m, D) of the model's dtype, ε ~ N(0, I) from ``rng``
    → the per-example `ELBOTerms`, as ``VAE.elbo_terms``."""

    fused = True

    @staticmethod
    def supports(model: VAE, loss: object) -> bool:
        """Its own objective (no ``loss``), a Bernoulli decoder, ReLU between Linears."""
        return (
            loss is None
            and model.decoder_kind == "bernoulli"
            and relu_linears(model.encoder.layers) is not None
            and relu_linears(model.decoder.layers) is not None
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.encoder = ReluStack(relu_linears(self.model.encoder.layers))
        self.decoder = ReluStack(relu_linears(self.model.decoder.layers))
        self._m = -1
        self._stepped: SteppedVAE | None = None

    @property
    def gathers_rows(self) -> bool:  # type: ignore[override]
        """True where `train_chunk` runs compiled (and gathers its rows as it goes)."""
        return self.compiled_chunks()

    def compiled_chunks(self) -> bool:
        """True if `train_chunk` runs one compiled call: one hidden layer on each side
        (of at least 2 units, and at least 2 pixels), contiguous parameters, `Adam`, and
        a BLAS the compiled loop can call."""
        enc, dec = self.encoder.linears, self.decoder.linears
        return (
            type(self.optimizer) is Adam
            and len(enc) == 2
            and len(dec) == 2
            and enc[0].out_features >= 2
            and dec[0].out_features >= 2
            and self.model.x_dim >= 2
            and all(
                p.data.flags.c_contiguous and p.grad.flags.c_contiguous
                for p in self.model.parameters()
            )
            and blas.available() is not None
        )

    def train_chunk(self, rows: tuple[np.ndarray, ...], batch_size: int,
                    index: np.ndarray | None = None,
                    rng: np.random.Generator | None = None) -> list[ELBOTerms]:  # fmt: skip
        """`Step.train_chunk` (ε from ``rng``, default the model's Generator): one compiled
        call (`SteppedVAE`) for the MNIST VAE's shape under Adam, the loop of forward and
        update otherwise."""
        gen = as_rng(rng if rng is not None else self.model.rng)
        if not self.compiled_chunks():
            return super().train_chunk(rows, batch_size, index, rng=gen)
        (x,) = rows
        self._check(x)
        self.seed, self._forward_done = self.optimizer.grad_scale, False
        stepped = self._stepped_for(batch_size)
        index = np.arange(x.shape[0]) if index is None else index
        beta = self.model.beta
        rec, kl, _, _ = stepped(x, index, gen, beta, self.seed)
        bounds = range(0, rec.shape[0], batch_size)
        return [ELBOTerms(rec[i : i + batch_size], kl[i : i + batch_size], beta) for i in bounds]

    def _stepped_for(self, batch_size: int) -> SteppedVAE:
        """The compiled chunk runner for the current arrays and batch size."""
        params = [p for lin in (*self.encoder.linears, *self.decoder.linears)
                  for p in (lin.weight, lin.bias)]  # fmt: skip
        current = self._stepped
        if (
            current is None
            or current.batch != batch_size
            or current.arrays != SteppedVAE.current_arrays(params, self.optimizer)
        ):
            current = self._stepped = SteppedVAE(params, self.optimizer, batch_size)
        return current

    def _check(self, xb: np.ndarray) -> None:
        vae, dtype = self.model, self.encoder.dtype
        if xb.dtype != dtype or xb.ndim != 2 or xb.shape[1] != vae.x_dim:
            raise HandgradError(
                f"{vae!r} expects x of shape (m, {vae.x_dim}) and dtype {dtype}, got "
                f"{xb.shape} {xb.dtype}"
            )

    def _buffers(self, m: int) -> None:
        if m != self._m:
            k, dtype = self.model.latent, self.encoder.dtype
            self._z, self._noise, self._var = (np.empty((m, k), dtype) for _ in range(3))
            self._dstats = np.empty((m, 2 * k), dtype)
            self._m = m

    def _forward(self, xb: np.ndarray, rng: np.random.Generator) -> ELBOTerms:
        vae, m, dtype = self.model, xb.shape[0], self.encoder.dtype
        self._check(xb)
        self._buffers(m)
        stats = self.encoder.forward(xb)
        eps = rng.standard_normal((m, vae.latent), dtype=dtype)  # as VAE.elbo_terms draws it
        kl = np.empty(m, dtype)
        reparameterize_kl(
            stats, self.encoder.linears[-1].bias.data, eps, self._z, self._noise, self._var, kl
        )
        logits = self.decoder.forward(self._z)
        rec = np.empty(m, dtype)
        bias = self.decoder.linears[-1].bias
        bernoulli_nll(logits, bias.data, xb, dtype.type(self.seed / m), rec, bias.grad)
        self.residuals = VAEStepResiduals(stats, self._noise, self._var, logits)
        return ELBOTerms(rec, kl, vae.beta)

    def backward(self) -> None:
        r, m = self.residuals, self.residuals.stats.shape[0]
        dz = self.decoder.backward(r.dlogits, input_grad=True)
        gk = self.encoder.dtype.type(self.model.beta * (self.seed / m))
        bias = self.encoder.linears[-1].bias
        reparameterize_kl_backward(dz, r.stats, r.noise, r.var, gk, self._dstats, bias.grad)
        self.encoder.backward(self._dstats)
