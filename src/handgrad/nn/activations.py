"""Elementwise activations. Shapes: x (any) → y (same shape, same dtype).

Each forward keeps one residual (the input x, the output y or the ReLU step 1[x > 0])
in ``residuals`` and each backward multiplies ``dy`` by the elementwise derivative
written in terms of it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.nn.module import Module, check_grad


class ReLUResiduals(NamedTuple):
    """What `ReLU.backward` needs: the step 1[x > 0] (boolean, shape of x)."""

    step: np.ndarray


class OutputResiduals(NamedTuple):
    """What a backward written in terms of the output needs: y (shape of x)."""

    y: np.ndarray


class InputResiduals(NamedTuple):
    """What a backward written in terms of the input needs: x."""

    x: np.ndarray


class _Elementwise(Module):
    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Elementwise):
    """y = max(x, 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.residuals = ReLUResiduals(x > 0)
        return np.maximum(x, x.dtype.type(0))  # one pass; np.where is several times slower

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = dy ⊙ 1[x > 0]   (the step function, not (x + |x|)/2)."""
        check_grad(self, dy, self.residuals and self.residuals.step)
        return dy * self.residuals.step if input_grad else None


class Sigmoid(_Elementwise):
    """y = 1 / (1 + e^{−x}), evaluated with e^{−|x|} so it never overflows.

    For x ≥ 0, y = 1/(1 + e^{−x}); for x < 0, y = e^{x}/(1 + e^{x}): both forms keep
    full relative precision, also for y near 0.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1, e) / (1 + e)
        self.residuals = OutputResiduals(y)
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = dy ⊙ y ⊙ (1 − y)."""
        check_grad(self, dy, self.residuals and self.residuals.y)
        y = self.residuals.y
        return dy * y * (1 - y) if input_grad else None


class Tanh(_Elementwise):
    """y = tanh(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = np.tanh(x)
        self.residuals = OutputResiduals(y)
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = dy ⊙ (1 − y²)."""
        check_grad(self, dy, self.residuals and self.residuals.y)
        y = self.residuals.y
        return dy * (1 - y * y) if input_grad else None


class Sin(_Elementwise):
    """y = sin(x): the task-A activation of the multi-task network."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.residuals = InputResiduals(x)
        return np.sin(x)

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dx = dy ⊙ cos(x)."""
        check_grad(self, dy, self.residuals and self.residuals.x)
        return dy * np.cos(self.residuals.x) if input_grad else None


ACTIVATIONS: dict[str, type[Module]] = {
    "relu": ReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "sin": Sin,
}
