"""Fast versions of `handgrad.nn` losses: the same values and gradients, computed in place.

`FastSoftmaxCrossEntropy` takes integer labels without building a one-hot matrix;
`FastBernoulliNLL` runs its elementwise chains in one buffer each. tests/fast/test_losses.py
proves both equal to the readable `handgrad.nn` versions.
"""

from __future__ import annotations

import functools

import numpy as np

from handgrad.fast.engine import FastVersion
from handgrad.nn.losses import LossResiduals, SoftmaxCrossEntropy
from handgrad.nn.vae_losses import BernoulliNLL, BernoulliNLLResiduals, _column, _same_shape


@functools.cache
def _row_starts(m: int, k: int) -> np.ndarray:
    """0, k, 2k, …, (m − 1)k: the flat index where each row of an (m, k) array starts
    (read-only, made once per shape)."""
    starts = np.arange(0, m * k, k)
    starts.flags.writeable = False
    return starts


class FastSoftmaxCrossEntropy(FastVersion, SoftmaxCrossEntropy):
    """`handgrad.nn.SoftmaxCrossEntropy`, with a label path that makes no one-hot matrix."""

    def _forward_labels(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """With s = z − max_k z and S = Σ_k e^{s_k}: L_i = log S_i − s_{i,y_i}, and ŷ − y is
        ŷ with 1 taken off at y_i, made in place in the buffer of s.

        Entry (i, y_i) is picked by its flat index i·k + y_i, which NumPy indexes about
        twice as fast as the pair (i, y_i).
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


class FastBernoulliNLL(FastVersion, BernoulliNLL):
    """`handgrad.nn.BernoulliNLL` with each elementwise chain run in one buffer: the same
    operations in the same order, so the same numbers bit for bit."""

    def forward(self, x: np.ndarray, logits: np.ndarray) -> np.ndarray:  # type: ignore[override]
        _same_shape("BernoulliNLL", x=x, logits=logits)
        self.residuals = BernoulliNLLResiduals(x, logits)
        t = np.abs(logits)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)  # log(1 + e^{−|l|})
        t += np.maximum(logits, 0)  # softplus(l)
        t -= x * logits
        return t.sum(axis=1)

    def backward(self, g: float | np.ndarray = 1.0) -> np.ndarray:  # type: ignore[override]
        x, logits = self.residuals
        gc = _column(g, logits)
        dl = np.tanh(0.5 * logits)  # sigmoid(l) = ½ (1 + tanh(l/2))
        dl += 1
        dl *= 0.5
        dl -= x
        dl *= gc
        return dl
