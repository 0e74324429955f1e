"""The pieces of the VAE objective, each with its hand-derived gradient.

Per example i (one row of a batch of m), with data x_i ∈ R^D and latent z_i ∈ R^K:

    −ELBO_i = NLL_i + β · KL_i
    NLL_i   = −log p(x_i | z_i)          (decoder: `GaussianNLL` or `BernoulliNLL`)
    KL_i    = KL(q(z | x_i) ‖ N(0, I))   (`GaussianKL`)
    z_i     = μ_i + σ_i ⊙ ε_i,  σ_i = exp(½ logσ²_i),  ε_i ~ N(0, I)   (`Reparameterize`)

Each term is a small `Module` with ``forward(...) -> (m,) per-example values`` that saves
what its backward needs in ``residuals``, and ``backward(g) -> gradients`` (the NLLs also have
``grad_x(g)``, the gradient with respect to the data), where ``g`` (shape (m,) or a
scalar) is ∂L/∂term_i, so the caller chooses the reduction (the VAE uses the batch mean:
g = 1/m). Arrays keep the dtype they come in (float32 for training, float64 for checks).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module

LOG_2PI = math.log(2 * math.pi)


def _column(g: float | np.ndarray, like: np.ndarray) -> np.ndarray | float:
    """``g`` as something that broadcasts over the rows of ``like``: scalar or (m, 1)."""
    if np.ndim(g) == 0:
        return like.dtype.type(g)
    g = np.asarray(g, dtype=like.dtype)
    if g.shape != (like.shape[0],):
        raise HandgradError(
            f"per-example gradient must have shape ({like.shape[0]},), got {g.shape}"
        )
    return g[:, None]


def _same_shape(name: str, **arrays: np.ndarray) -> None:
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    first = next(iter(shapes.values()))
    if len(first) != 2 or any(s != first for s in shapes.values()):
        raise HandgradError(f"{name} needs 2-D arrays of one shape (m, d), got {shapes}")


class GaussianNLLResiduals(NamedTuple):
    """What `GaussianNLL.backward` needs, each (m, D): x − μ, 1/σ² and (x − μ)²/σ²."""

    diff: np.ndarray
    inv_var: np.ndarray
    sq: np.ndarray


class GaussianNLL(Module):
    """Negative log-likelihood of x under a diagonal Gaussian N(μ, diag(σ²)), per row.

    NLL_i = ½ Σ_d [log 2π + logσ²_id + (x_id − μ_id)² / σ²_id].
    Shapes: x, μ, logσ² (m, D) → (m,).
    """

    def forward(self, x: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:  # type: ignore[override]
        _same_shape("GaussianNLL", x=x, mu=mu, logvar=logvar)
        diff = x - mu
        inv_var = np.exp(-logvar)
        sq = diff * diff * inv_var  # (x − μ)² / σ²
        self.residuals = GaussianNLLResiduals(diff, inv_var, sq)
        d = x.shape[1]
        return 0.5 * (logvar.sum(axis=1) + sq.sum(axis=1)) + x.dtype.type(0.5 * d * LOG_2PI)

    def backward(self, g: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """(dμ, dlogσ²):  dμ = −g (x − μ)/σ²;  dlogσ² = ½ g (1 − (x − μ)²/σ²).  Each (m, D)."""
        r = self.residuals
        gc = _column(g, r.diff)
        dmu = -gc * r.diff * r.inv_var
        dlogvar = (0.5 * gc) * (1 - r.sq)
        return dmu, dlogvar

    def grad_x(self, g: float | np.ndarray = 1.0) -> np.ndarray:
        """dx = g (x − μ)/σ²  (= −dμ).  Shape (m, D)."""
        r = self.residuals
        return _column(g, r.diff) * r.diff * r.inv_var


class BernoulliNLLResiduals(NamedTuple):
    """What `BernoulliNLL.backward` needs: the data x and the logits l, each (m, D)."""

    x: np.ndarray
    logits: np.ndarray


class BernoulliNLL(Module):
    """Negative log-likelihood of x ∈ [0, 1] under Bernoulli(sigmoid(l)), per row, from logits l.

    NLL_i = Σ_d [softplus(l_id) − x_id l_id],  softplus(l) = max(l, 0) + log(1 + e^{−|l|}),
    which equals the binary cross-entropy −[x log p + (1 − x) log(1 − p)], p = sigmoid(l),
    without ever forming log 0. Shapes: x, l (m, D) → (m,).
    """

    def forward(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:  # type: ignore[override]
        _same_shape("BernoulliNLL", x=x, logits=logits)
        self.residuals = BernoulliNLLResiduals(x, logits)
        softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
        return (softplus - x * logits).sum(axis=1)

    def backward(self, g: float | np.ndarray = 1.0) -> np.ndarray:  # type: ignore[override]
        """dl = g (sigmoid(l) − x), with sigmoid(l) = ½ (1 + tanh(l/2)) (never overflows).

        Shape (m, D)."""
        x, logits = self.residuals
        sigmoid = 0.5 * (np.tanh(0.5 * logits) + 1)
        return (sigmoid - x) * _column(g, logits)

    def grad_x(self, g: float | np.ndarray = 1.0) -> np.ndarray:
        """dx = −g l.  Shape (m, D)."""
        logits = self.residuals.logits
        return -_column(g, logits) * logits


class GaussianKLResiduals(NamedTuple):
    """What `GaussianKL.backward` needs, each (m, K): μ and σ² = exp(logσ²)."""

    mu: np.ndarray
    var: np.ndarray


class GaussianKL(Module):
    """KL(N(μ, diag(σ²)) ‖ N(0, I)) per row.

    KL_i = ½ Σ_k (μ_ik² + σ_ik² − 1 − logσ²_ik).  Shapes: μ, logσ² (m, K) → (m,).
    """

    def forward(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:  # type: ignore[override]
        _same_shape("GaussianKL", mu=mu, logvar=logvar)
        var = np.exp(logvar)
        self.residuals = GaussianKLResiduals(mu, var)
        return 0.5 * (mu * mu + var - 1 - logvar).sum(axis=1)

    def per_dim(self) -> np.ndarray:
        """The last forward's KL split by latent dimension, (m, K): which units are used."""
        mu, var = self.residuals
        return 0.5 * (mu * mu + var - 1 - np.log(var))

    def backward(self, g: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """(dμ, dlogσ²):  dμ = g μ;  dlogσ² = ½ g (σ² − 1).  Each (m, K)."""
        mu, var = self.residuals
        gc = _column(g, mu)
        return gc * mu, (0.5 * gc) * (var - 1)


class ReparameterizeResiduals(NamedTuple):
    """What `Reparameterize.backward` needs: σ ⊙ ε (m, K)."""

    noise: np.ndarray


class Reparameterize(Module):
    """z = μ + σ ⊙ ε with σ = exp(½ logσ²) and ε ~ N(0, I) given by the caller.

    Shapes: μ, logσ², ε (m, K) → z (m, K). Holding ε fixed makes z a deterministic,
    differentiable function of (μ, logσ²): this is what lets gradients reach the encoder.
    """

    def forward(self, mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:  # type: ignore[override]
        _same_shape("Reparameterize", mu=mu, logvar=logvar, eps=eps)
        if eps.dtype != mu.dtype:
            raise HandgradError(f"ε has dtype {eps.dtype} but μ has {mu.dtype}; cast ε to match")
        noise = np.exp(0.5 * logvar) * eps  # σ ⊙ ε
        self.residuals = ReparameterizeResiduals(noise)
        return mu + noise

    def backward(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        """(dμ, dlogσ²):  dμ = dz;  dlogσ² = ½ dz ⊙ σ ⊙ ε.  Each (m, K)."""
        return dz, 0.5 * dz * self.residuals.noise


class SoftClampResiduals(NamedTuple):
    """What `SoftClamp.backward` needs: t = tanh(h / c) (shape of h)."""

    t: np.ndarray


class SoftClamp(Module):
    """y = c · tanh(h / c): the identity near 0, smoothly bounded to (−c, c).

    Used on the decoder's logσ² so that the variance stays in (e^{−c}, e^{c}) and a
    point fitted almost exactly cannot drive (x − μ)²/σ² to overflow. Shapes: any → same.
    """

    def __init__(self, limit: float):
        if not (limit > 0 and math.isfinite(limit)):
            raise HandgradError(f"the log-variance limit must be a positive number, got {limit}")
        self.limit = float(limit)

    def forward(self, h: np.ndarray) -> np.ndarray:
        c = h.dtype.type(self.limit)
        t = np.tanh(h / c)
        self.residuals = SoftClampResiduals(t)
        return c * t

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dh = dy ⊙ (1 − tanh²(h/c)).  Shapes: dy, dh as h."""
        t = self.residuals.t
        return dy * (1 - t * t) if input_grad else None
