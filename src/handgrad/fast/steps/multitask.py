"""The fused training step of `handgrad.models.MultiTaskNet`.

The derivation's forward and backward (report 000 §2.2, `MultiTaskNet.forward` /
``backward``) with the six products in NumPy's BLAS and the elementwise work in four
fused passes: task A's bias + sin + dropout, saving M ⊙ cos(z1A) for backward
(`handgrad.fast.kernels.sin_dropout`); BN* + merge + task A's loss and its gradient
(`handgrad.fast.kernels.bn_star`); task B's bias + softmax cross-entropy + ∂L/∂z2B
(`handgrad.fast.kernels.softmax_xent`); and the two backward passes with every bias
gradient. ∂L/∂x is not computed (x is data).

The dropout mask M = 1[u ≥ p] / (1 − p) comes from the float64 uniforms u the network's
`handgrad.nn.Dropout` draws from its Generator, as the plain engine does: the same masks
(`handgrad.fast.kernels.dropout_mask` draws them, the Generator left where ``random``
leaves it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast.kernels.bn_star import bn_star_backward, bn_star_forward
from handgrad.fast.kernels.dropout_mask import draw_dropout_mask
from handgrad.fast.kernels.sin_dropout import scale_backward_bias_grad, sin_dropout
from handgrad.fast.kernels.softmax_xent import softmax_xent
from handgrad.fast.step import Step
from handgrad.fast.steps import fused_step
from handgrad.models.multitask import MultiTaskNet, TaskLosses


class MultiTaskStepResiduals(NamedTuple):
    """What the backward pass needs (buffers the step keeps): x (m, n); xDP and
    M ⊙ cos(z1A) (m, h); xBN, x⊕ and task A's part of ∂L/∂ŷA (m, a); seed · ∂L/∂z2B
    (m, b), written over z2B."""

    x: np.ndarray
    xDP: np.ndarray
    cos_mask: np.ndarray
    xBN: np.ndarray
    xplus: np.ndarray
    dA: np.ndarray
    dz2B: np.ndarray


@fused_step(MultiTaskNet)
class FusedMultiTaskStep(Step):
    """``forward(x, yA, labels)``: x (m, n), yA (m, a) of the network's dtype, labels
    (m,) integers in [0, b) → `TaskLosses` (L = L_A + L_B, its ``loss``)."""

    fused = True

    @staticmethod
    def supports(model: MultiTaskNet, loss: object) -> bool:
        """The network's own objective (no ``loss``)."""
        return loss is None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._m = -1

    def _buffers(self, m: int) -> None:
        if m != self._m:
            net, dt = self.model, self.model.dtype
            h, a, b = net.n_hidden, net.n_out_a, net.n_classes
            self._mask = np.ones((m, h), dt)  # M; all ones when p = 0
            self._z1A, self._xDP, self._cm = (np.empty((m, h), dt) for _ in range(3))
            self._x2A, self._x1B, self._xplus, self._dA, self._dx1B, self._dxplus = (
                np.empty((m, a), dt) for _ in range(6)
            )
            self._z2B = np.empty((m, b), dt)
            self._m = m

    def _forward(self, x: np.ndarray, yA: np.ndarray, labels: np.ndarray) -> TaskLosses:
        net, m = self.model, x.shape[0]
        if x.dtype != net.dtype or x.shape[1:] != (net.n_in,) or yA.shape != (m, net.n_out_a):
            raise HandgradError(
                f"{net!r} expects x (m, {net.n_in}) and yA (m, {net.n_out_a}) of dtype "
                f"{net.dtype}, got {x.shape} {x.dtype} and {yA.shape}"
            )
        self._buffers(m)
        t = net.dtype.type
        if net.p:
            draw_dropout_mask(net.dropout.rng, net.p, self._mask)  # as `Dropout` does
        np.matmul(x, net.theta1A.data.T, out=self._z1A)
        sin_dropout(self._z1A, net.b1A.data, self._mask, self._xDP, self._cm,
                    net.dtype == np.float32)  # fmt: skip
        np.matmul(self._xDP, net.theta2A.data.T, out=self._x2A)
        np.matmul(x, net.theta1B.data.T, out=self._x1B)
        g = t(self.seed / m)
        la = bn_star_forward(self._x1B, net.b1B.data, net.running_mean, t(net.momentum),
                             self._x2A, net.b2A.data, yA, g, self._xplus, self._dA)  # fmt: skip
        np.matmul(self._xplus, net.theta2B.data.T, out=self._z2B)
        total, correct = softmax_xent(self._z2B, net.b2B.data, labels, g, net.b2B.grad)
        if correct < 0:  # the kernel stopped at a label outside [0, b)
            raise HandgradError(
                f"label {labels[-correct - 1]} is outside the {net.n_classes} classes; "
                "check the data"
            )
        self.residuals = MultiTaskStepResiduals(
            x, self._xDP, self._cm, self._x1B, self._xplus, self._dA, self._z2B
        )
        net.last_losses = TaskLosses(0.5 * la / m, total / m)
        return net.last_losses

    def backward(self) -> None:
        """∂(seed · L)/∂θ for the eight parameters, as `MultiTaskNet.backward` derives them."""
        net, r = self.model, self.residuals
        net.theta2B.add_product(r.dz2B.T, r.xplus)
        np.matmul(r.dz2B, net.theta2B.data, out=self._dxplus)
        bn_star_backward(self._dxplus, r.xBN, r.dA, self._dx1B, net.b1B.grad, net.b2A.grad)
        net.theta1B.add_product(self._dx1B.T, r.x)
        dyhatA = r.dA  # both terms of ∂L/∂ŷA now
        net.theta2A.add_product(dyhatA.T, r.xDP)
        dxDP = np.matmul(dyhatA, net.theta2A.data, out=self._z1A)  # z1A is spent: reuse it
        scale_backward_bias_grad(dxDP, r.cos_mask, net.b1A.grad)
        net.theta1A.add_product(dxDP.T, r.x)
