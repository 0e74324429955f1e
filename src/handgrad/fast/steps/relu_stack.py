"""`ReluStack`: forward and backward of Linear → ReLU → … → Linear with fused kernels.

The same formulas as `handgrad.nn.Linear` and `handgrad.nn.ReLU` (their docstrings state
them), written for a training step: per hidden layer one product into a kept buffer and
one fused pass (bias + ReLU forward; ReLU backward + bias gradient,
`handgrad.fast.kernels.linear_relu`). The last layer's bias is left to the caller, which
fuses it with the loss that follows (adding it, and summing its gradient, in the loss's
pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from handgrad.fast.kernels.linear_relu import bias_relu, relu_backward_bias_grad
from handgrad.nn.activations import ReLU
from handgrad.nn.linear import Linear
from handgrad.nn.module import Module


def relu_linears(layers: Sequence[Module]) -> list[Linear] | None:
    """The Linear layers of ``layers`` if they are biased Linears with a ReLU between
    each two (Linear, ReLU, Linear, …, Linear), else None. Exact types: a subclass (e.g.
    a test's deliberately wrong layer) is not fused."""
    if len(layers) % 2 == 0:
        return None
    for i, layer in enumerate(layers):
        kind = Linear if i % 2 == 0 else ReLU
        if type(layer) is not kind or (i % 2 == 0 and layer.bias is None):
            return None
    return list(layers[::2])


class ReluStackResiduals(NamedTuple):
    """What `ReluStack.backward` needs: the input x (m, in) and each layer's output h
    (the hidden ones after ReLU; the last before its bias), buffers the stack keeps."""

    x: np.ndarray
    h: list[np.ndarray]


class ReluStack:
    """``forward(x)`` → the last layer's x θᵀ (its bias not added) (m, out), a kept buffer;
    ``backward(dy, input_grad)`` with dy = ∂/∂(last output), the caller having added the
    last bias gradient: every other gradient into ``Parameter.grad`` (written over a
    zeroed gradient, added otherwise); returns ∂/∂x (m, in) if ``input_grad``."""

    def __init__(self, linears: Sequence[Linear]):
        self.linears = list(linears)
        self.dtype = self.linears[0].weight.data.dtype
        self.residuals: ReluStackResiduals | None = None
        self._m = -1

    def _buffers(self, m: int) -> None:
        if m != self._m:
            outs = [lin.out_features for lin in self.linears]
            self._h = [np.empty((m, n), self.dtype) for n in outs]
            self._dh = [np.empty((m, n), self.dtype) for n in outs[:-1]]
            self._dx = np.empty((m, self.linears[0].in_features), self.dtype)
            self._m = m

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._buffers(x.shape[0])
        self.residuals = ReluStackResiduals(x, self._h)
        a = x
        for lin, h in zip(self.linears, self._h, strict=True):
            np.matmul(a, lin.weight.data.T, out=h)
            if h is not self._h[-1]:
                bias_relu(h, lin.bias.data)
            a = h
        return a

    def backward(self, dy: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        x, h = self.residuals
        for i in range(len(self.linears) - 1, -1, -1):
            lin = self.linears[i]
            lin.weight.add_product(dy.T, h[i - 1] if i else x)
            if i:
                dh = self._dh[i - 1]
                np.matmul(dy, lin.weight.data, out=dh)
                relu_backward_bias_grad(dh, h[i - 1], self.linears[i - 1].bias.grad)
                dy = dh
        if not input_grad:
            return None
        return np.matmul(dy, self.linears[0].weight.data, out=self._dx)
