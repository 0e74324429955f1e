"""Elementwise activations. Shapes: x (any) → y (same shape, same dtype).

Each forward keeps one residual (the input, the output or the ReLU mask) and each
backward multiplies ``dy`` by the elementwise derivative written in terms of it.
"""

from __future__ import annotations

import numpy as np

from handgrad.nn.module import Module, check_grad


class _Elementwise(Module):
    """Shared plumbing: the residual of the last forward, checked against ``dy``."""

    _saved: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Elementwise):
    """y = max(x, 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._saved = x > 0
        return np.maximum(x, x.dtype.type(0))  # one pass; np.where is several times slower

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ 1[x > 0]   (the step function, not (x + |x|)/2)."""
        mask = self._saved
        if mask is None or dy.__class__ is not np.ndarray or dy.shape != mask.shape:
            check_grad(self, dy, mask)  # the full check (and its message) off the hot path
        return dy * mask


class Sigmoid(_Elementwise):
    """y = 1 / (1 + e^{−x}), evaluated with e^{−|x|} so it never overflows.

    For x ≥ 0, y = 1/(1 + e^{−x}); for x < 0, y = e^{x}/(1 + e^{x}): both forms keep
    full relative precision, also for y near 0.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        self._saved = np.where(x >= 0, 1, e) / (1 + e)
        return self._saved

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ y ⊙ (1 − y)."""
        check_grad(self, dy, self._saved)
        y = self._saved
        return dy * y * (1 - y)


class Tanh(_Elementwise):
    """y = tanh(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._saved = np.tanh(x)
        return self._saved

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ (1 − y²)."""
        check_grad(self, dy, self._saved)
        return dy * (1 - self._saved * self._saved)


class Sin(_Elementwise):
    """y = sin(x): the task-A activation of the multi-task network."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._saved = x
        return np.sin(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ cos(x)."""
        check_grad(self, dy, self._saved)
        return dy * np.cos(self._saved)


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "sin": Sin,
}
