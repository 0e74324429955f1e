"""Batch normalisation over the rows of a batch: `BatchNorm1d`, and `MeanCenter` (BN*).

Notation: batch of m rows, μ = (1/m) Σ_i x_i, σ² = (1/m) Σ_i (x_i − μ)².
Both layers keep a running mean (and BatchNorm1d a running variance) for eval mode,
updated as r ← (1 − momentum) r + momentum · batch_stat, like PyTorch. The backward
pass uses the statistics its forward pass used (batch in train mode, running in eval
mode), whatever the mode is when backward runs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module, Parameter, check_grad, check_input


class BatchNormResiduals(NamedTuple):
    """What `BatchNorm1d.backward` needs: x̂ (m, d), 1/σ = 1/√(σ² + ε) (d,), and whether
    the batch statistics were used (train) or the running ones (eval)."""

    xhat: np.ndarray
    inv_std: np.ndarray
    batch_stats: bool


class MeanCenterResiduals(NamedTuple):
    """What `MeanCenter.backward` needs: the mean μ it subtracted (d,), the input's shape
    (m, d), and whether μ was the batch mean (train) or the running mean (eval)."""

    mu: np.ndarray
    shape: tuple[int, ...]
    batch_stats: bool


def _check_settings(layer: str, num_features: int, momentum: float) -> None:
    if num_features < 1:
        raise HandgradError(f"{layer} needs num_features ≥ 1, got {num_features}")
    if not 0.0 <= momentum <= 1.0:
        raise HandgradError(f"{layer} momentum must be in [0, 1], got {momentum}")


class BatchNorm1d(Module):
    """y = γ ⊙ x̂ + β,  x̂ = (x − μ) / √(σ² + ε).

    Shapes: x (m, d) → y (m, d); γ, β (d,). In eval mode μ and σ² are the running
    estimates (the running variance uses the unbiased m/(m−1) correction).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        *,
        dtype: np.dtype | type = np.float32,
    ):
        _check_settings("BatchNorm1d", num_features, momentum)
        if not eps > 0:
            raise HandgradError(f"BatchNorm1d eps must be > 0, got {eps}")
        dtype = np.dtype(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.gamma = Parameter(np.ones(num_features, dtype=dtype))
        self.beta = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input(self, x, 2, self.num_features, self.gamma.data.dtype)
        if self.training:
            m = x.shape[0]
            mu = x.mean(axis=0)
            xc = x - mu
            var = (xc * xc).mean(axis=0)
            unbiased = var * (m / (m - 1)) if m > 1 else var
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mu
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * unbiased
        else:
            xc = x - self.running_mean
            var = self.running_var
        inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
        xhat = xc * inv_std
        self.residuals = BatchNormResiduals(xhat, inv_std, self.training)
        return self.gamma.data * xhat + self.beta.data

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dβ += Σ_i dy_i;  dγ += Σ_i dy_i ⊙ x̂_i;
        train: dx = (γ/σ) ⊙ (dy − mean_i(dy) − x̂ ⊙ mean_i(dy ⊙ x̂));  eval: dx = (γ/σ) ⊙ dy.

        Shapes: dy, x̂, dx (m, d); σ, γ, dγ, dβ (d,).
        """
        r = self.residuals
        check_grad(self, dy, r and r.xhat)
        dgamma = (dy * r.xhat).sum(axis=0)
        dbeta = dy.sum(axis=0)
        self.gamma.grad += dgamma
        self.beta.grad += dbeta
        if not input_grad:
            return None
        scale = self.gamma.data * r.inv_std
        if not r.batch_stats:
            return dy * scale
        m = dy.shape[0]
        return scale * (dy - dbeta / m - r.xhat * (dgamma / m))

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features})"


class MeanCenter(Module):
    """BN* of the multi-task network: y = x − μ + b (centre each feature, add a bias).

    Shapes: x (m, d) → y (m, d); b (d,). Rows are coupled through μ, so the backward
    subtracts the batch mean of the incoming gradient.
    """

    def __init__(
        self, num_features: int, momentum: float = 0.1, *, dtype: np.dtype | type = np.float32
    ):
        _check_settings("MeanCenter", num_features, momentum)
        dtype = np.dtype(dtype)
        self.num_features, self.momentum = num_features, momentum
        self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        self.running_mean = np.zeros(num_features, dtype=dtype)

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean}

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_input(self, x, 2, self.num_features, self.bias.data.dtype)
        if self.training:
            mu = x.mean(axis=0)
            self.running_mean *= 1 - self.momentum
            self.running_mean += self.momentum * mu
        else:
            mu = self.running_mean.copy()
        self.residuals = MeanCenterResiduals(mu, x.shape, self.training)
        return x - mu + self.bias.data

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """db += Σ_i dy_i;  train: dx_i = dy_i − (1/m) Σ_j dy_j;  eval: dx = dy.

        Shapes: dy, dx (m, d); db (d,).
        """
        r = self.residuals
        check_grad(self, dy, r and r.shape)
        self.bias.grad += dy.sum(axis=0)
        if not input_grad:
            return None
        if not r.batch_stats:
            return dy
        return dy - dy.mean(axis=0)

    def __repr__(self) -> str:
        return f"MeanCenter({self.num_features})"
