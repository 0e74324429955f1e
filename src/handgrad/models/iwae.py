"""The importance-weighted bound of a VAE (Burda, Grosse & Salakhutdinov 2016, "IWAE").

For one example x (D,) and k samples z_j = μ + σ ⊙ ε_j from q(z | x), ε_j ~ N(0, I)::

    log w_j = log p(x | z_j) + log N(z_j; 0, I) − log q(z_j | x)
            = −NLL(x | z_j) − ½‖z_j‖² + ½‖ε_j‖² + ½ Σ_k logσ²_k     (the 2π terms cancel)
    L_k(x)  = log (1/k) Σ_j w_j

E[L_k] ≤ E[L_{k+1}] ≤ log p(x), and L_k → log p(x) as k → ∞; E[L_1] is the ELBO (with
a sampled rather than a closed-form KL). `IWAE` is the training objective ℓ = −L_k with
its hand-derived gradient; `log_likelihood` the estimate of log p(x) papers report
(k = 5000), computed in bounded memory.

The gradient. With w̃_j = w_j / Σ_l w_l (a softmax over j of log w_j) and g = ∂L/∂ℓ,
the weight of sample j in the backward pass is G_j = g w̃_j = ∂L/∂(−log w_j), and::

    decoder:   the NLL's backward with per-row weight G_j, back through G (as the VAE's)
    z_j:       dz_j = (back through G)_j + G_j z_j                 (from ½‖z_j‖²)
    encoder:   dμ = Σ_j dz_j;   dlogσ² = Σ_j ½ dz_j ⊙ σ ⊙ ε_j − ½ Σ_j G_j
    x:         dx = (back through E) + Σ_j ∂NLL_j/∂x · G_j
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from handgrad.errors import HandgradError
from handgrad.models.vae import VAE
from handgrad.nn.init import RngLike, as_rng
from handgrad.nn.module import Module


@dataclass
class IWAEForward:
    """The forward quantities of one batch: x (m, D); μ, logσ², σ (m, K); ε, z (m, k, K);
    the normalised weights w̃ (m, k)."""

    x: np.ndarray
    mu: np.ndarray
    logvar: np.ndarray
    sigma: np.ndarray
    eps: np.ndarray
    z: np.ndarray
    weights: np.ndarray | None = None


def _logsumexp(a: np.ndarray) -> np.ndarray:
    """log Σ_j exp(a_ij) over the last axis, without overflow: (m, k) → (m,)."""
    top = a.max(axis=-1)
    return top + np.log(np.exp(a - top[..., None]).sum(axis=-1))


@dataclass(frozen=True)
class IWAETerms:
    """Per-example −L_k of one batch (m,): the negative bound, in nats."""

    neg_bound: np.ndarray

    @property
    def loss(self) -> float:
        """L = mean_i ℓ_i, the objective trained."""
        return float(self.neg_bound.mean(dtype=np.float64))


class IWAE(Module):
    """The IWAE objective of ``vae`` with ``k`` samples: ℓ_i = −L_k(x_i) per example.

    The layer contract: ``forward(x)`` returns ℓ (m,) and saves what backward needs;
    ``backward(dy)`` takes dy = ∂L/∂ℓ (m,) or one number, accumulates the VAE's
    parameter gradients and returns ∂L/∂x (m, D) if ``input_grad``. ``loss(x)`` =
    mean_i ℓ_i and ``loss_backward()`` are what training calls. The VAE's β is not used:
    the bound is that of the model, KL included.
    """

    def __init__(self, vae: VAE, k: int):
        if k < 1:
            raise HandgradError(f"the IWAE needs k ≥ 1 samples, got {k}")
        self.vae = vae
        self.k = int(k)

    def log_weights(self, x: np.ndarray, eps: np.ndarray) -> np.ndarray:
        """log w (m, s) of x (m, D) for ε (m, s, K) (any s); saves the forward quantities."""
        vae = self.vae
        mu, logvar = vae.encode(x)
        m, kk = mu.shape
        if eps.ndim != 3 or eps.shape[0] != m or eps.shape[2] != kk:
            raise HandgradError(f"ε must have shape ({m}, samples, {kk}), got {eps.shape}")
        s = eps.shape[1]
        sigma = np.exp(0.5 * logvar)
        z = mu[:, None, :] + sigma[:, None, :] * eps
        a, logvar_x = vae.decoder_params(z.reshape(m * s, kk))
        xr = np.repeat(x, s, axis=0)
        nll = vae.nll.forward(xr, a) if logvar_x is None else vae.nll.forward(xr, a, logvar_x)
        half = x.dtype.type(0.5)
        log_w = (
            -nll.reshape(m, s)
            - half * (z * z).sum(axis=2)
            + half * (eps * eps).sum(axis=2)
            + half * logvar.sum(axis=1)[:, None]
        )
        self.residuals = IWAEForward(x, mu, logvar, sigma, eps, z)
        return log_w

    def forward(  # type: ignore[override]
        self, x: np.ndarray, eps: np.ndarray | None = None, rng: RngLike = None
    ) -> np.ndarray:
        """ℓ_i = −log (1/k) Σ_j w_ij for each row of x (m, D) → (m,); ε (m, k, K) is
        drawn from ``rng`` (default: the VAE's Generator) unless given."""
        if eps is None:
            gen = as_rng(rng if rng is not None else self.vae.rng)
            eps = gen.standard_normal((x.shape[0], self.k, self.vae.latent), dtype=x.dtype)
        elif eps.shape[1] != self.k:
            raise HandgradError(f"ε must hold k = {self.k} samples per example, got {eps.shape}")
        log_w = self.log_weights(x, eps)
        top = log_w.max(axis=1, keepdims=True)
        w = np.exp(log_w - top)
        total = w.sum(axis=1, keepdims=True)
        self.residuals.weights = w / total
        return -(top[:, 0] + np.log(total[:, 0])) + x.dtype.type(math.log(self.k))

    def loss(self, x: np.ndarray, eps: np.ndarray | None = None, rng: RngLike = None) -> float:
        """L = mean_i ℓ_i on the batch x (m, D)."""
        return float(self.forward(x, eps, rng).mean(dtype=np.float64))

    def objective(
        self, x: np.ndarray, eps: np.ndarray | None = None, rng: RngLike = None
    ) -> IWAETerms:
        """The training objective of a batch, as a training step calls it: `IWAETerms`."""
        return IWAETerms(self.forward(x, eps, rng))

    def backward(self, dy: float | np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Accumulate ∂L/∂θ of the VAE for dy = ∂L/∂ℓ_i (m,) or one number (formulas in
        the module docstring); return ∂L/∂x (m, D) if ``input_grad``."""
        r = self.residuals
        if r is None or r.weights is None:
            raise HandgradError("IWAE.backward called before forward; run forward first")
        vae = self.vae
        m, s, kk = r.eps.shape
        dtype = r.x.dtype
        g = np.asarray(dy, dtype=dtype)
        G = (g[:, None] if g.ndim else g) * r.weights  # (m, s): ∂L/∂(−log w)
        Gf = G.reshape(m * s)
        dz = vae.decoder_backward(Gf).reshape(m, s, kk) + G[:, :, None] * r.z
        dmu = dz.sum(axis=1)
        dlogvar = 0.5 * (dz * r.eps).sum(axis=1) * r.sigma - 0.5 * G.sum(axis=1)[:, None]
        dx = vae.encoder.backward(np.concatenate([dmu, dlogvar], axis=1), input_grad=input_grad)
        if dx is None:
            return None
        return dx + vae.nll.grad_x(Gf).reshape(m, s, -1).sum(axis=1)

    def loss_backward(self, dloss: float = 1.0, *, input_grad: bool = True) -> np.ndarray | None:
        """``backward`` for L = mean_i ℓ_i of the last forward: dy = dL/m for every row."""
        if self.residuals is None:
            raise HandgradError("IWAE.backward called before forward; run forward first")
        return self.backward(dloss / self.residuals.x.shape[0], input_grad=input_grad)


def log_likelihood(
    vae: VAE,
    x: np.ndarray,
    k: int,
    *,
    rng: RngLike = None,
    rows: int = 50_000,
    progress: bool = False,
) -> np.ndarray:
    """The importance-sampled estimate L_k(x_i) of log p(x_i) for each row of x (n, D),
    float64 (n,), in nats.

    At most ``rows`` (examples × samples) pass through the decoder at once, so memory
    stays bounded for k = 5000: examples go in groups of ⌊rows / k⌋, or one at a time
    with its k samples in chunks, accumulated with a running log-sum-exp. ε is drawn
    from ``rng`` group by group; for one example at a time, any chunk size draws the
    same ε and gives the same estimate.
    """
    if k < 1:
        raise HandgradError(f"--iwae needs k ≥ 1 samples, got {k}")
    if rows < 1:
        raise HandgradError(f"rows per pass must be ≥ 1, got {rows}")
    gen = as_rng(rng)
    objective = IWAE(vae, k)
    vae.eval()
    n, latent = x.shape[0], vae.latent
    group = max(1, rows // k)
    chunk = min(k, max(1, rows // group))
    out = np.empty(n)
    with tqdm(
        total=n, desc=f"IWAE k={k}", unit="example", disable=not progress, leave=False
    ) as bar:
        for start in range(0, n, group):
            xb = x[start : start + group]
            total = np.full(xb.shape[0], -np.inf)
            for done in range(0, k, chunk):
                s = min(chunk, k - done)
                eps = gen.standard_normal((xb.shape[0], s, latent), dtype=vae.dtype)
                log_w = objective.log_weights(xb, eps).astype(np.float64)
                total = np.logaddexp(total, _logsumexp(log_w))
            out[start : start + xb.shape[0]] = total - math.log(k)
            bar.update(xb.shape[0])
    return out
