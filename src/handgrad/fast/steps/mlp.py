"""The fused training step of a ReLU `handgrad.models.MLP` with `SoftmaxCrossEntropy`.

The same formulas as ``model.forward`` → `SoftmaxCrossEntropy` → ``model.backward``: the
layers run as a `handgrad.fast.steps.relu_stack.ReluStack`, and one pass adds the last
bias and computes the loss, the correct count, ∂L/∂z (seeded with the step's seed) and
the last bias gradient (`handgrad.fast.kernels.softmax_xent`). Supported: Linear/ReLU
stacks (no batch norm, no dropout) with integer labels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast.kernels.softmax_xent import softmax_xent
from handgrad.fast.step import Scored, Step
from handgrad.fast.steps import fused_step
from handgrad.fast.steps.relu_stack import ReluStack, relu_linears
from handgrad.models.mlp import MLP
from handgrad.nn.losses import SoftmaxCrossEntropy


class MLPStepResiduals(NamedTuple):
    """What the backward pass needs: seed · ∂L/∂z (m, k), written over the logits."""

    dz: np.ndarray


@fused_step(MLP)
class FusedMLPStep(Step):
    """``forward(xb, yb)``: xb (m, d_in) rows of the model's dtype, yb (m,) integer labels
    in [0, d_out) → `Scored` (mean cross-entropy, correct predictions)."""

    fused = True

    @staticmethod
    def supports(model: object, loss: object) -> bool:
        """A ReLU `MLP` of biased Linear layers (nothing else) with softmax cross-entropy."""
        return type(loss) is SoftmaxCrossEntropy and relu_linears(model.layers) is not None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stack = ReluStack(relu_linears(self.model.layers))

    def _forward(self, xb: np.ndarray, yb: np.ndarray) -> Scored:
        dtype, m = self.stack.dtype, xb.shape[0]
        if xb.dtype != dtype:
            raise HandgradError(f"the batch is {xb.dtype} but the model is {dtype}; cast it")
        z = self.stack.forward(xb)
        bias = self.stack.linears[-1].bias
        total, correct = softmax_xent(z, bias.data, yb, dtype.type(self.seed / m), bias.grad)
        if correct < 0:  # the kernel stopped at a label outside [0, k)
            raise HandgradError(
                f"label {yb[-correct - 1]} is outside the {z.shape[1]} classes "
                f"[0, {z.shape[1]}); check the data"
            )
        self.residuals = MLPStepResiduals(z)
        return Scored(total / m, correct)

    def backward(self) -> None:
        self.stack.backward(self.residuals.dz)
