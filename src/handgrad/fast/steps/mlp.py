"""The fused training step of a ReLU `handgrad.models.MLP` with `SoftmaxCrossEntropy`.

The same formulas as ``model.forward`` → `SoftmaxCrossEntropy` → ``model.backward``: the
layers run as a `handgrad.fast.steps.relu_stack.ReluStack`, and one pass adds the last
bias and computes the loss, the correct count, ∂L/∂z (seeded with the step's seed) and
the last bias gradient (`handgrad.fast.kernels.softmax_xent`). Supported: Linear/ReLU
stacks (no batch norm, no dropout) with integer labels.

`train_chunk` of a one-hidden-layer MLP under plain SGD (the reference run) runs the
whole chunk of steps in one compiled call (`handgrad.fast.kernels.mlp_sgd`), on two
threads where two cores are free; other MLPs and optimisers step batch by batch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast import blas
from handgrad.fast.kernels.mlp_sgd import SteppedMLP
from handgrad.fast.kernels.softmax_xent import softmax_xent
from handgrad.fast.step import Scored, Step
from handgrad.fast.steps import fused_step
from handgrad.fast.steps.relu_stack import ReluStack, relu_linears
from handgrad.models.mlp import MLP
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.optim import SGD


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
        self._stepped: SteppedMLP | None = None

    @property
    def gathers_rows(self) -> bool:  # type: ignore[override]
        """True where `train_chunk` runs compiled (and gathers its rows as it goes)."""
        return self.compiled_chunks()

    def train_chunk(self, rows: tuple[np.ndarray, np.ndarray], batch_size: int,
                    index: np.ndarray | None = None) -> list[Scored]:  # fmt: skip
        """`Step.train_chunk`: one compiled call (`SteppedMLP`) for a one-hidden-layer MLP
        under plain SGD, the loop of forward and update otherwise."""
        if not self.compiled_chunks():
            return super().train_chunk(rows, batch_size, index)
        x, y = rows
        self._check_dtype(x)
        self.seed, self._forward_done = self.optimizer.grad_scale, False
        stepped = self._stepped_for(batch_size)
        index = np.arange(x.shape[0]) if index is None else index
        losses, correct, taken, _ = stepped(x, y, self.seed, True, index)
        if correct[-1] < 0:  # stopped at a label outside [0, k)
            self._label_error(y[index[taken * batch_size - correct[-1] - 1]])
        return [Scored(*out) for out in zip(losses.tolist(), correct.tolist(), strict=True)]

    def compiled_chunks(self) -> bool:
        """A one-hidden-layer MLP (at least 2 hidden units, contiguous weights) under
        plain SGD, and a BLAS the compiled loop can call."""
        opt, linears = self.optimizer, self.stack.linears
        return (
            type(opt) is SGD
            and opt.plain
            and len(linears) == 2
            and linears[0].out_features >= 2
            and all(p.data.flags.c_contiguous for lin in linears for p in lin.parameters())
            and blas.available() is not None
        )

    def _stepped_for(self, batch_size: int) -> SteppedMLP:
        """The compiled chunk runner for the current weight arrays and batch size."""
        weights = [p.data for lin in self.stack.linears for p in (lin.weight, lin.bias)]
        current = self._stepped
        if (
            current is None
            or current.batch != batch_size
            or any(a is not b for a, b in zip(current.weights, weights, strict=True))
        ):
            current = self._stepped = SteppedMLP(*weights, batch_size)
        return current

    def _check_dtype(self, xb: np.ndarray) -> None:
        if xb.dtype != self.stack.dtype:
            raise HandgradError(
                f"the batch is {xb.dtype} but the model is {self.stack.dtype}; cast it"
            )

    def _label_error(self, label: int) -> None:
        k = self.stack.linears[-1].out_features
        raise HandgradError(f"label {label} is outside the {k} classes [0, {k}); check the data")

    def _forward(self, xb: np.ndarray, yb: np.ndarray) -> Scored:
        dtype, m = self.stack.dtype, xb.shape[0]
        self._check_dtype(xb)
        z = self.stack.forward(xb)
        bias = self.stack.linears[-1].bias
        total, correct = softmax_xent(z, bias.data, yb, dtype.type(self.seed / m), bias.grad)
        if correct < 0:  # the kernel stopped at a label outside [0, k)
            self._label_error(yb[-correct - 1])
        self.residuals = MLPStepResiduals(z)
        return Scored(total / m, correct)

    def backward(self) -> None:
        self.stack.backward(self.residuals.dz)
