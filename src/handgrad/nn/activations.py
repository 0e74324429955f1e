"""Elementwise activations. Shapes: x (any) → y (same shape, same dtype)."""

from __future__ import annotations

import numpy as np

from handgrad.nn.module import Module


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._mask = x > 0
        return np.where(self._mask, x, x.dtype.type(0))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ 1[x > 0]   (the step function, not (x + |x|)/2)."""
        return dy * self._mask


class Sigmoid(Module):
    """y = 1 / (1 + e^{−x}), computed as ½(1 + tanh(x/2)) so it never overflows."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = 0.5 * (np.tanh(0.5 * x) + 1)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ y ⊙ (1 − y)."""
        y = self._y
        return dy * y * (1 - y)


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ (1 − y²)."""
        return dy * (1 - self._y * self._y)


class Sin(Module):
    """y = sin(x): the task-A activation of the multi-task network."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return np.sin(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """dx = dy ⊙ cos(x)."""
        return dy * np.cos(self._x)


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "sin": Sin,
}
