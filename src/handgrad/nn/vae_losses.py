"""The pieces of the VAE objective, each with its hand-derived gradient.

Per example i (one row of a batch of m), with data x_i ∈ R^D and latent z_i ∈ R^K:

    −ELBO_i = NLL_i + β · KL_i
    NLL_i   = −log p(x_i | z_i)          (decoder: `GaussianNLL` or `BernoulliNLL`)
    KL_i    = KL(q(z | x_i) ‖ N(0, I))   (`GaussianKL`)
    z_i     = μ_i + σ_i ⊙ ε_i,  σ_i = exp(½ logσ²_i),  ε_i ~ N(0, I)   (`Reparameterize`)

Each term is a small object with ``forward(...) -> (m,) per-example values`` that stores
what its backward needs, and ``backward(g) -> gradients`` (the NLLs also have
``grad_x(g)``, the gradient with respect to the data), where ``g`` (shape (m,) or a
scalar) is ∂L/∂term_i, so the caller chooses the reduction (the VAE uses the batch mean:
g = 1/m). Arrays keep the dtype they come in (float32 for training, float64 for checks).
"""

from __future__ import annotations

import math

import numpy as np

from handgrad.errors import HandgradError

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


class GaussianNLL:
    """Negative log-likelihood of x under a diagonal Gaussian N(μ, diag(σ²)), per row.

    NLL_i = ½ Σ_d [log 2π + logσ²_id + (x_id − μ_id)² / σ²_id].
    Shapes: x, μ, logσ² (m, D) → (m,).
    """

    def forward(self, x: np.ndarray, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        _same_shape("GaussianNLL", x=x, mu=mu, logvar=logvar)
        self._diff = x - mu
        self._inv_var = np.exp(-logvar)
        self._sq = self._diff * self._diff * self._inv_var  # (x − μ)² / σ²
        d = x.shape[1]
        return 0.5 * (logvar.sum(axis=1) + self._sq.sum(axis=1)) + x.dtype.type(0.5 * d * LOG_2PI)

    def backward(self, g: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(dμ, dlogσ²):  dμ = −g (x − μ)/σ²;  dlogσ² = ½ g (1 − (x − μ)²/σ²)."""
        gc = _column(g, self._diff)
        dmu = -gc * self._diff * self._inv_var
        dlogvar = (0.5 * gc) * (1 - self._sq)
        return dmu, dlogvar

    def grad_x(self, g: float | np.ndarray = 1.0) -> np.ndarray:
        """dx = g (x − μ)/σ²  (= −dμ)."""
        return _column(g, self._diff) * self._diff * self._inv_var


class BernoulliNLL:
    """Negative log-likelihood of x ∈ [0, 1] under Bernoulli(sigmoid(l)), per row, from logits l.

    NLL_i = Σ_d [softplus(l_id) − x_id l_id],  softplus(l) = max(l, 0) + log(1 + e^{−|l|}),
    which equals the binary cross-entropy −[x log p + (1 − x) log(1 − p)], p = sigmoid(l),
    without ever forming log 0. Shapes: x, l (m, D) → (m,).
    """

    def forward(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:
        _same_shape("BernoulliNLL", x=x, logits=logits)
        self._x, self._logits = x, logits
        t = np.abs(logits)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)  # log(1 + e^{−|l|})
        t += np.maximum(logits, 0)
        t -= x * logits
        return t.sum(axis=1)

    def backward(self, g: float | np.ndarray = 1.0) -> np.ndarray:
        """dl = g (sigmoid(l) − x)."""
        gc = _column(g, self._logits)
        dl = np.tanh(0.5 * self._logits)  # sigmoid(l) = ½ (1 + tanh(l/2)), never overflows
        dl += 1
        dl *= 0.5
        dl -= self._x
        dl *= gc
        return dl

    def grad_x(self, g: float | np.ndarray = 1.0) -> np.ndarray:
        """dx = −g l."""
        return -_column(g, self._logits) * self._logits


class GaussianKL:
    """KL(N(μ, diag(σ²)) ‖ N(0, I)) per row.

    KL_i = ½ Σ_k (μ_ik² + σ_ik² − 1 − logσ²_ik).  Shapes: μ, logσ² (m, K) → (m,).
    """

    def forward(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        _same_shape("GaussianKL", mu=mu, logvar=logvar)
        self._mu = mu
        self._var = np.exp(logvar)
        return 0.5 * (mu * mu + self._var - 1 - logvar).sum(axis=1)

    def per_dim(self) -> np.ndarray:
        """The last forward's KL split by latent dimension, (m, K): which units are used."""
        return 0.5 * (self._mu * self._mu + self._var - 1 - np.log(self._var))

    def backward(self, g: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """(dμ, dlogσ²):  dμ = g μ;  dlogσ² = ½ g (σ² − 1)."""
        gc = _column(g, self._mu)
        return gc * self._mu, (0.5 * gc) * (self._var - 1)


class Reparameterize:
    """z = μ + σ ⊙ ε with σ = exp(½ logσ²) and ε ~ N(0, I) given by the caller.

    Shapes: μ, logσ², ε (m, K) → z (m, K). Holding ε fixed makes z a deterministic,
    differentiable function of (μ, logσ²): this is what lets gradients reach the encoder.
    """

    def forward(self, mu: np.ndarray, logvar: np.ndarray, eps: np.ndarray) -> np.ndarray:
        _same_shape("Reparameterize", mu=mu, logvar=logvar, eps=eps)
        if eps.dtype != mu.dtype:
            raise HandgradError(f"ε has dtype {eps.dtype} but μ has {mu.dtype}; cast ε to match")
        self._noise = np.exp(0.5 * logvar)
        self._noise *= eps  # σ ⊙ ε
        return mu + self._noise

    def backward(self, dz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dμ, dlogσ²):  dμ = dz;  dlogσ² = ½ dz ⊙ σ ⊙ ε."""
        return dz, 0.5 * dz * self._noise


class SoftClamp:
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
        self._t = np.tanh(h / c)
        return c * self._t

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dh = dy ⊙ (1 − tanh²(h/c))."""
        return dy * (1 - self._t * self._t)
