"""The MLP training step of a ReLU `handgrad.models.MLP` with fused elementwise kernels.

The same formulas as ``model.forward`` → `SoftmaxCrossEntropy` → ``model.backward``
(the layers' docstrings state them), without the layers' per-call work: per hidden
layer one product and one fused pass (bias + ReLU forward; ReLU backward + bias
gradient), and for the loss one pass that adds the last bias and computes the loss, the
correct count, ∂L/∂z (seeded with dL) and the last bias gradient
(`handgrad.fast.elementwise`). Products stay in NumPy's BLAS, writing into buffers kept
between steps; the weight gradients go straight into ``Parameter.grad``.

Supported: Linear/ReLU stacks (no batch norm, no dropout), which `supports` tells.
"""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast.elementwise import bias_relu, relu_backward_bias_grad, softmax_xent
from handgrad.models.mlp import MLP
from handgrad.nn.activations import ReLU
from handgrad.nn.linear import Linear


def supports(model: object) -> bool:
    """True for an `MLP` of biased Linear layers with ReLU between them, nothing else."""
    if not isinstance(model, MLP):
        return False
    layers = model.layers
    kinds = [Linear if i % 2 == 0 else ReLU for i in range(len(layers))]
    return len(layers) % 2 == 1 and all(
        type(layer) is kind and (kind is ReLU or layer.bias is not None)
        for layer, kind in zip(layers, kinds, strict=True)
    )


class FusedMLPStep:
    """``loss(xb, yb, dloss)`` then ``backward()``: one training step's forward and loss,
    then the gradients of dloss · L in every ``Parameter.grad`` (zeroed by ``loss``).

    xb (m, d_in) rows of the model's dtype, yb (m,) integer labels in [0, d_out).
    """

    def __init__(self, model: MLP):
        if not supports(model):
            raise HandgradError(
                f"the fused MLP step supports ReLU MLPs without batch norm or dropout, "
                f"not {model!r}; use --engine numpy"
            )
        self.model = model
        self.linears: list[Linear] = list(model.layers[::2])
        self._m = -1

    def _buffers(self, m: int, dtype: np.dtype) -> None:
        """Activations h_l (m, out_l) and back-propagated gradients, for batches of m rows."""
        if m != self._m:
            outs = [lin.out_features for lin in self.linears]
            self._h = [np.empty((m, n), dtype) for n in outs]
            self._dh = [np.empty((m, n), dtype) for n in outs[:-1]]
            self._m = m

    def loss(self, xb: np.ndarray, yb: np.ndarray, dloss: float) -> tuple[float, int]:
        """Forward pass and loss: (mean cross-entropy L, correct predictions); leaves
        dloss · ∂L/∂z for `backward`."""
        m = xb.shape[0]
        dtype = self.linears[0].weight.data.dtype
        if xb.dtype != dtype:
            raise HandgradError(f"the batch is {xb.dtype} but the model is {dtype}; cast it")
        self._buffers(m, dtype)
        self._x = xb
        a = xb
        for lin, h in zip(self.linears[:-1], self._h, strict=False):
            np.matmul(a, lin.weight.data.T, out=h)
            bias_relu(h, lin.bias.data)
            a = h
        last = self.linears[-1]
        z = self._h[-1]
        np.matmul(a, last.weight.data.T, out=z)
        self.model.zero_grad()
        total, correct = softmax_xent(z, last.bias.data, yb, dtype.type(dloss / m), last.bias.grad)
        if correct < 0:  # the kernel stopped at a label outside [0, k)
            bad = yb[-correct - 1]
            raise HandgradError(
                f"label {bad} is outside the {z.shape[1]} classes [0, {z.shape[1]}); check the data"
            )
        return total / m, correct

    def backward(self) -> None:
        """Weight and bias gradients of the last `loss` into every ``Parameter.grad``."""
        dy = self._h[-1]  # dloss · ∂L/∂z, written by `loss`
        for i in range(len(self.linears) - 1, -1, -1):
            lin = self.linears[i]
            lin.weight.add_matmul(dy.T, self._h[i - 1] if i else self._x)
            if i:
                dh = self._dh[i - 1]
                np.matmul(dy, lin.weight.data, out=dh)
                relu_backward_bias_grad(dh, self._h[i - 1], self.linears[i - 1].bias.grad)
                dy = dh
