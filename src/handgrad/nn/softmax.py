"""Softmax and log-softmax over the last axis, stable for any finite logits.

Shapes: x (m, k) → y (m, k). Both subtract the row maximum before exponentiating,
so logits of ±1000 give exact probabilities, never inf or nan.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.nn.module import Module, check_grad


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log softmax(x) = (x − max) − log Σ exp(x − max), row-wise."""
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(x: np.ndarray) -> np.ndarray:
    """softmax(x)_k = exp(x_k − max) / Σ_j exp(x_j − max), row-wise."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


class SoftmaxResiduals(NamedTuple):
    """What the backward of `Softmax` (y = softmax(x)) or `LogSoftmax` (y = log softmax(x))
    needs: its output y (m, k)."""

    y: np.ndarray


class Softmax(Module):
    """y = softmax(x) row-wise; ∂y_i/∂x_k = y_i (δ_ik − y_k)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = softmax(x)
        self.residuals = SoftmaxResiduals(y)
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = y ⊙ (dy − Σ_k dy_k y_k)   (the Jacobian-vector product, never the Jacobian).

        Shapes: dy, y, dx (m, k). Its absolute error is round-off of dy (≈ ε‖dy‖); in a
        saturated row (one y_k ≈ 1) the true entries are that small too, so only their
        absolute error is meaningful.
        """
        check_grad(self, dy, self.residuals and self.residuals.y)
        y = self.residuals.y
        return y * (dy - (dy * y).sum(axis=-1, keepdims=True)) if input_grad else None


class LogSoftmax(Module):
    """y = log softmax(x) row-wise; ∂y_i/∂x_k = δ_ik − softmax(x)_k."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = log_softmax(x)
        self.residuals = SoftmaxResiduals(y)
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = dy − softmax(x) ⊙ Σ_k dy_k = dy − e^y ⊙ Σ_k dy_k.  Shapes: dy, y, dx (m, k)."""
        check_grad(self, dy, self.residuals and self.residuals.y)
        y = self.residuals.y
        return dy - np.exp(y) * dy.sum(axis=-1, keepdims=True) if input_grad else None
