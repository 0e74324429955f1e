"""The training step of a ReLU `handgrad.models.MLP` with fused kernels.

The same formulas as ``model.forward`` → `SoftmaxCrossEntropy` → ``model.backward``: the
layers run as a `handgrad.fast.stack.ReluStack`, and one pass adds the last bias and
computes the loss, the correct count, ∂L/∂z (seeded with dL) and the last bias gradient
(`handgrad.fast.elementwise.softmax_xent`). Supported: Linear/ReLU stacks (no batch
norm, no dropout), which `supports` tells.
"""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast.elementwise import softmax_xent
from handgrad.fast.stack import ReluStack, relu_linears
from handgrad.models.mlp import MLP


def supports(model: object) -> bool:
    """True for an `MLP` of biased Linear layers with ReLU between them, nothing else."""
    return isinstance(model, MLP) and relu_linears(model.layers) is not None


class FusedMLPStep:
    """``loss(xb, yb, dloss)`` then ``backward()``: one training step's forward and loss,
    then the gradients of dloss · L in every ``Parameter.grad``, which must be zeroed
    before ``loss`` (it writes the last bias gradient).

    xb (m, d_in) rows of the model's dtype, yb (m,) integer labels in [0, d_out).
    """

    def __init__(self, model: MLP):
        if not supports(model):
            raise HandgradError(
                f"the fused MLP step supports ReLU MLPs without batch norm or dropout, "
                f"not {model!r}; use --engine numpy"
            )
        self.model = model
        self.stack = ReluStack(relu_linears(model.layers))

    def loss(self, xb: np.ndarray, yb: np.ndarray, dloss: float) -> tuple[float, int]:
        """Forward pass and loss: (mean cross-entropy L, correct predictions); leaves
        dloss · ∂L/∂z for `backward`."""
        dtype, m = self.stack.dtype, xb.shape[0]
        if xb.dtype != dtype:
            raise HandgradError(f"the batch is {xb.dtype} but the model is {dtype}; cast it")
        self._z = z = self.stack.forward(xb)
        bias = self.stack.linears[-1].bias
        total, correct = softmax_xent(z, bias.data, yb, dtype.type(dloss / m), bias.grad)
        if correct < 0:  # the kernel stopped at a label outside [0, k)
            raise HandgradError(
                f"label {yb[-correct - 1]} is outside the {z.shape[1]} classes "
                f"[0, {z.shape[1]}); check the data"
            )
        return total / m, correct

    def backward(self) -> None:
        """Weight and bias gradients of the last `loss` into every ``Parameter.grad``."""
        self.stack.backward(self._z)
