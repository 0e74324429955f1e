"""Losses: a scalar mean over the m rows of a batch.

The loss contract::

    L  = loss.forward(prediction, target)   # a Python float
    dx = loss.backward(dL=1.0)              # ∂L/∂prediction, same shape and dtype

The target is cast to the prediction's dtype (never the other way round), so a
float32 prediction gives a float32 gradient.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module
from handgrad.nn.softmax import log_softmax


def check_labels(labels: np.ndarray, k: int) -> np.ndarray:
    """``labels`` as a 1-D integer array with values in [0, k); a `HandgradError` otherwise.

    One reduction checks both bounds: viewed as unsigned integers of the same size (a
    view, no copy), negative labels are huge values, so ``max < k`` holds exactly when
    all lie in [0, k).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise HandgradError(
            f"labels must be a 1-D integer array, got dtype {labels.dtype} and shape "
            f"{labels.shape}; convert them with labels.astype(np.int64)"
        )
    if labels.size and labels.view(f"u{labels.dtype.itemsize}").max() >= k:
        raise HandgradError(
            f"labels must lie in [0, {k}), got values from {labels.min()} to {labels.max()}; "
            "check the number of classes"
        )
    return labels


def one_hot(labels: np.ndarray, k: int, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """(m,) integer labels in [0, k) → (m, k) one-hot rows."""
    labels = check_labels(labels, k)
    out = np.zeros((labels.shape[0], k), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


@functools.cache
def _row_starts(m: int, k: int) -> np.ndarray:
    """0, k, 2k, …, (m − 1)k: the flat index where each row of an (m, k) array starts
    (read-only, made once per shape)."""
    starts = np.arange(0, m * k, k)
    starts.flags.writeable = False
    return starts


class LossResiduals(NamedTuple):
    """What a mean loss's backward needs: diff = ŷ − y (m, …), the prediction minus the
    target (for cross-entropy: the probabilities softmax(z) minus the target rows)."""

    diff: np.ndarray


class Loss(Module):
    """Base class of losses: ``forward(prediction, target) -> float``, and
    ``backward(dloss) -> dL · (ŷ − y) / m`` for the two losses here."""

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:  # type: ignore[override]
        return self.forward(prediction, target)

    def backward(self, dloss: float = 1.0) -> np.ndarray:  # type: ignore[override]
        """∂L/∂ŷ = dL · (ŷ − y) / m.  Shapes: ŷ − y and the result (m, …)."""
        if self.residuals is None:
            raise HandgradError(f"{self!r}.backward called before forward; run forward first")
        diff = self.residuals.diff
        return diff * diff.dtype.type(dloss / diff.shape[0])

    def correct(self, prediction: np.ndarray, target: np.ndarray) -> int | None:
        """How many rows the prediction gets right, for a classification loss; None here."""
        return None

    def _target(self, prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The target as an array of the prediction's shape and dtype."""
        if not isinstance(prediction, np.ndarray) or prediction.ndim < 1:
            raise HandgradError(
                f"{self!r} expects predictions as an array of shape (m, …), got "
                f"{getattr(prediction, 'shape', type(prediction).__name__)}"
            )
        target = np.asarray(target)
        if target.shape != prediction.shape:
            raise HandgradError(
                f"{self!r}: target shape {target.shape} does not match prediction shape "
                f"{prediction.shape}; pass one target row per prediction row"
            )
        return target.astype(prediction.dtype, copy=False)


class SoftmaxCrossEntropy(Loss):
    """Fused softmax + cross-entropy from logits.

    L = −(1/m) Σ_i Σ_k y_ik log softmax(z_i)_k.  Shapes: logits z (m, k); target either
    integer labels (m,) or a (m, k) matrix y of probability rows (one-hot or soft).
    The fused gradient ∂L/∂z = (ŷ − y)/m never forms 1/ŷ, so it is exact even when
    a probability underflows to 0. It needs Σ_k y_ik = 1, which forward checks.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        if not isinstance(logits, np.ndarray) or logits.ndim != 2:
            raise HandgradError(
                f"SoftmaxCrossEntropy expects logits of shape (m, k), got "
                f"{getattr(logits, 'shape', type(logits).__name__)}"
            )
        m, k = logits.shape
        target = np.asarray(target)
        if target.ndim == 1:
            if target.shape[0] != m:
                raise HandgradError(
                    f"SoftmaxCrossEntropy got {m} rows of logits but {target.shape[0]} labels; "
                    "pass one label per row"
                )
            return self._forward_labels(logits, check_labels(target, k))
        y = self._target(logits, target)
        tol = np.sqrt(np.finfo(logits.dtype).eps)
        if y.min(initial=0) < 0 or not np.abs(y.sum(axis=1) - 1).max(initial=0) <= tol:
            raise HandgradError(
                "SoftmaxCrossEntropy target rows must be probabilities (entries ≥ 0, "
                "each row summing to 1); pass integer labels or normalise the rows"
            )
        return self._forward_rows(logits, y)

    def _forward_rows(self, logits: np.ndarray, y: np.ndarray) -> float:
        """L = −(1/m) Σ_i Σ_k y_ik log ŷ_ik with log ŷ = log softmax(z); saves ŷ − y."""
        logp = log_softmax(logits)
        self.residuals = LossResiduals(np.exp(logp) - y)
        return float(-(y * logp).sum() / logits.shape[0])

    def _forward_labels(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """Integer labels (m,) in [0, k), y their one-hot rows, without forming y: with
        s = z − max_k z and S = Σ_k e^{s_k}, L_i = log S_i − s_{i,y_i}, and ŷ − y is ŷ
        with 1 taken off at (i, y_i), made in place in the buffer of s.  Entry (i, y_i)
        is picked by its flat index i·k + y_i (NumPy indexes it twice as fast as a pair).
        """
        m, k = logits.shape
        at_label = _row_starts(m, k) + labels
        shifted = logits - logits.max(axis=1, keepdims=True)
        picked = shifted.reshape(-1)[at_label]
        probs = np.exp(shifted, out=shifted)
        total = probs.sum(axis=1, keepdims=True)
        probs /= total
        loss = (np.log(total).sum() - picked.sum()) / m
        probs.reshape(-1)[at_label] -= 1
        self.residuals = LossResiduals(probs)
        return float(loss)

    def correct(self, logits: np.ndarray, target: np.ndarray) -> int:
        """Rows whose first largest logit is at the label (or at the target row's first
        largest entry): ``argmax`` agreement."""
        target = np.asarray(target)
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return int(np.count_nonzero(logits.argmax(axis=1) == labels))

    def backward(self, dloss: float = 1.0) -> np.ndarray:  # type: ignore[override]
        """∂L/∂z = dL · (ŷ − y) / m  (ŷ = softmax(z)).  Shapes: z, y, ∂L/∂z (m, k)."""
        return super().backward(dloss)

    def __repr__(self) -> str:
        return "SoftmaxCrossEntropy()"


class MSELoss(Loss):
    """L = (1/m) Σ_i ½ ‖ŷ_i − y_i‖²  (the task-A loss). Shapes: ŷ, y (m, d) (or (m,))."""

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        diff = prediction - self._target(prediction, target)
        self.residuals = LossResiduals(diff)
        return float(0.5 * (diff * diff).sum() / prediction.shape[0])

    def __repr__(self) -> str:
        return "MSELoss()"
