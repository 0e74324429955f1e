"""Losses: a scalar mean over the m rows of a batch.

The loss contract::

    L  = loss.forward(prediction, target)   # a Python float
    dx = loss.backward(dL=1.0)              # ∂L/∂prediction, same shape and dtype
"""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module
from handgrad.nn.softmax import log_softmax


def one_hot(labels: np.ndarray, k: int, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """(m,) integer labels in [0, k) → (m, k) one-hot rows."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size and (labels.min() < 0 or labels.max() >= k):
        raise HandgradError(f"labels must be a 1-D array of integers in [0, {k})")
    out = np.zeros((labels.shape[0], k), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


class Loss(Module):
    """Base class of losses: ``forward(prediction, target) -> float``."""

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:  # type: ignore[override]
        return self.forward(prediction, target)


class SoftmaxCrossEntropy(Loss):
    """Fused softmax + cross-entropy from logits.

    L = −(1/m) Σ_i Σ_k y_ik log softmax(z_i)_k.  Shapes: logits z (m, k); target either
    integer labels (m,) or a (m, k) one-hot / probability matrix y.
    The fused gradient ∂L/∂z = (ŷ − y)/m never forms 1/ŷ, so it is exact even when
    a probability underflows to 0.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        if logits.ndim != 2:
            raise HandgradError(f"SoftmaxCrossEntropy expects logits (m, k), got {logits.shape}")
        m, k = logits.shape
        target = np.asarray(target)
        if target.ndim == 1:
            if target.shape[0] != m:
                raise HandgradError(
                    f"SoftmaxCrossEntropy got {m} rows of logits but {target.shape[0]} labels"
                )
            target = one_hot(target, k, logits.dtype)
        elif target.shape != logits.shape:
            raise HandgradError(
                f"SoftmaxCrossEntropy: target shape {target.shape} does not match logits "
                f"{logits.shape}"
            )
        logp = log_softmax(logits)
        self._p = np.exp(logp)
        self._y = target.astype(logits.dtype, copy=False)
        return float(-(self._y * logp).sum() / m)

    def backward(self, dloss: float = 1.0) -> np.ndarray:
        """∂L/∂z = dL · (ŷ − y) / m."""
        m = self._p.shape[0]
        return (self._p - self._y) * self._p.dtype.type(dloss / m)


class MSELoss(Loss):
    """L = (1/m) Σ_i ½ ‖ŷ_i − y_i‖²  (the task-A loss). Shapes: ŷ, y (m, d)."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        target = np.asarray(target)
        if target.shape != prediction.shape:
            raise HandgradError(
                f"MSELoss: target shape {target.shape} does not match prediction "
                f"{prediction.shape}"
            )
        self._diff = prediction - target.astype(prediction.dtype, copy=False)
        m = prediction.shape[0]
        return float(0.5 * (self._diff * self._diff).sum() / m)

    def backward(self, dloss: float = 1.0) -> np.ndarray:
        """∂L/∂ŷ = dL · (ŷ − y) / m."""
        m = self._diff.shape[0]
        return self._diff * self._diff.dtype.type(dloss / m)
