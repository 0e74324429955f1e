"""The training step of a Bernoulli-decoder ReLU `handgrad.models.VAE` with fused kernels.

The same formulas as ``VAE.elbo_terms`` → ``VAE.backward`` (see `handgrad.models.vae`):
encoder and decoder run as `handgrad.fast.stack.ReluStack` s; the encoder's last bias,
the reparameterisation and the KL term are one pass
(`handgrad.fast.elementwise.reparameterize_kl`, and its backward), the decoder's last
bias, the Bernoulli NLL and its gradient another (`bernoulli_nll`). ε is drawn exactly
as the model draws it. Supported: Bernoulli decoders and ReLU activations (`supports`).
"""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast.elementwise import bernoulli_nll, reparameterize_kl, reparameterize_kl_backward
from handgrad.fast.stack import ReluStack, relu_linears
from handgrad.models.vae import VAE, ELBOTerms


def supports(vae: object) -> bool:
    """True for a `VAE` with a Bernoulli decoder and ReLU between its Linear layers."""
    return (
        isinstance(vae, VAE)
        and vae.decoder_kind == "bernoulli"
        and relu_linears(vae.encoder.layers) is not None
        and relu_linears(vae.decoder.layers) is not None
    )


class FusedVAEStep:
    """``elbo_terms(xb, rng)`` then ``backward()``, as the model's own methods (dL = 1);
    zero the gradients before ``elbo_terms`` (it writes the decoder's last bias gradient)."""

    def __init__(self, vae: VAE):
        if not supports(vae):
            raise HandgradError(
                f"the fused VAE step supports Bernoulli decoders with ReLU layers, not {vae!r}; "
                "use --engine numpy"
            )
        self.vae = vae
        self.encoder = ReluStack(relu_linears(vae.encoder.layers))
        self.decoder = ReluStack(relu_linears(vae.decoder.layers))
        self._m = -1

    def _buffers(self, m: int) -> None:
        if m != self._m:
            k, dtype = self.vae.latent, self.encoder.dtype
            self._z, self._noise, self._var = (np.empty((m, k), dtype) for _ in range(3))
            self._dstats = np.empty((m, 2 * k), dtype)
            self._m = m

    def elbo_terms(self, xb: np.ndarray, rng: np.random.Generator) -> ELBOTerms:
        """Forward pass on xb (m, D) with ε ~ N(0, I) from ``rng``: per-example terms;
        leaves ∂(rec)/∂(logits) for `backward`."""
        vae, m, dtype = self.vae, xb.shape[0], self.encoder.dtype
        if xb.dtype != dtype or xb.ndim != 2 or xb.shape[1] != vae.x_dim:
            raise HandgradError(
                f"{vae!r} expects x of shape (m, {vae.x_dim}) and dtype {dtype}, got "
                f"{xb.shape} {xb.dtype}"
            )
        self._buffers(m)
        self._stats = stats = self.encoder.forward(xb)
        eps = rng.standard_normal((m, vae.latent), dtype=dtype)  # as VAE.elbo_terms draws it
        kl = np.empty(m, dtype)
        reparameterize_kl(
            stats, self.encoder.linears[-1].bias.data, eps, self._z, self._noise, self._var, kl
        )
        self._logits = logits = self.decoder.forward(self._z)
        rec = np.empty(m, dtype)
        bias = self.decoder.linears[-1].bias
        bernoulli_nll(logits, bias.data, xb, dtype.type(1.0 / m), rec, bias.grad)
        self._g = 1.0 / m
        return ELBOTerms(rec, kl, vae.beta)

    def backward(self) -> None:
        """Every parameter's gradient of the last forward's L = mean(rec + β kl)."""
        dz = self.decoder.backward(self._logits, input_grad=True)
        gk = self.encoder.dtype.type(self.vae.beta * self._g)
        bias = self.encoder.linears[-1].bias
        reparameterize_kl_backward(
            dz, self._stats, self._noise, self._var, gk, self._dstats, bias.grad
        )
        self.encoder.backward(self._dstats)
