"""The training step of `handgrad.models.MultiTaskNet` with fused kernels.

The derivation's forward and backward (report 000 §2.2, `MultiTaskNet.forward` /
``backward``) with the six products in NumPy's BLAS and the elementwise work in four
fused passes (`handgrad.fast.elementwise`): task A's bias + sin + dropout (saving
M ⊙ cos(z1A) for backward); BN* + merge + task A's loss and its gradient; task B's
bias + softmax cross-entropy + ∂L/∂z2B; and the two backward passes with every bias
gradient. ∂L/∂x is not computed (x is data).

The dropout mask is M = 1[u ≥ p] / (1 − p) for float32 uniforms u drawn from the
network's dropout Generator (the NumPy engine draws float64 ones: the same distribution, not
the same masks; a fused run is bit-identical to another fused run).
"""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast.elementwise import (
    bn_star_backward,
    bn_star_forward,
    scale_backward_bias_grad,
    sin_dropout,
    softmax_xent,
)
from handgrad.fast.grads import add_matmul
from handgrad.models.multitask import MultiTaskNet, TaskLosses


class FusedMultiTaskStep:
    """``loss(x, yA, labels, dloss)`` then ``backward()``: L = L_A + L_B of a batch and
    the gradients of dloss · L in every ``Parameter.grad`` (zero them before ``loss``).

    x (m, n), yA (m, a) of the network's dtype; labels (m,) integers in [0, b).
    """

    def __init__(self, net: MultiTaskNet):
        self.net = net
        self._m = -1

    def _buffers(self, m: int) -> None:
        if m != self._m:
            net, dt = self.net, self.net.dtype
            h, a, b = net.n_hidden, net.n_out_a, net.n_classes
            self._u = np.zeros((m, h), np.float32)
            self._z1A, self._xDP, self._cm = (np.empty((m, h), dt) for _ in range(3))
            self._x2A, self._x1B, self._xplus, self._dA, self._dx1B, self._dxplus = (
                np.empty((m, a), dt) for _ in range(6)
            )
            self._z2B = np.empty((m, b), dt)
            self._m = m

    def loss(self, x: np.ndarray, yA: np.ndarray, labels: np.ndarray, dloss: float) -> float:
        """The training-mode forward pass and L; leaves what `backward` needs."""
        net, m = self.net, x.shape[0]
        if x.dtype != net.dtype or x.shape[1:] != (net.n_in,) or yA.shape != (m, net.n_out_a):
            raise HandgradError(
                f"{net!r} expects x (m, {net.n_in}) and yA (m, {net.n_out_a}) of dtype "
                f"{net.dtype}, got {x.shape} {x.dtype} and {yA.shape}"
            )
        self._buffers(m)
        t = net.dtype.type
        if net.p:
            net.dropout.rng.random(dtype=np.float32, out=self._u)
        np.matmul(x, net.theta1A.data.T, out=self._z1A)
        keep_scale = t(1.0 / (1.0 - net.p))
        sin_dropout(self._z1A, net.b1A.data, self._u, np.float32(net.p), keep_scale,
                    self._xDP, self._cm, net.dtype == np.float32)  # fmt: skip
        np.matmul(self._xDP, net.theta2A.data.T, out=self._x2A)
        np.matmul(x, net.theta1B.data.T, out=self._x1B)
        g = t(dloss / m)
        la = bn_star_forward(self._x1B, net.b1B.data, net.running_mean, t(net.momentum),
                             self._x2A, net.b2A.data, yA, g, self._xplus, self._dA)  # fmt: skip
        np.matmul(self._xplus, net.theta2B.data.T, out=self._z2B)
        total, correct = softmax_xent(self._z2B, net.b2B.data, labels, g, net.b2B.grad)
        if correct < 0:  # the kernel stopped at a label outside [0, b)
            raise HandgradError(
                f"label {labels[-correct - 1]} is outside the {net.n_classes} classes; "
                "check the data"
            )
        self._x = x
        net.last_losses = TaskLosses(0.5 * la / m, total / m)
        return net.last_losses.total

    def backward(self) -> None:
        """∂(dloss · L)/∂θ for the eight parameters, as `MultiTaskNet.backward` derives them."""
        net, x = self.net, self._x
        dz2B = self._z2B  # dloss · (ŷB − yB)/m, written by `loss`
        add_matmul(net.theta2B, dz2B.T, self._xplus)
        np.matmul(dz2B, net.theta2B.data, out=self._dxplus)
        bn_star_backward(self._dxplus, self._x1B, self._dA, self._dx1B, net.b1B.grad,
                         net.b2A.grad)  # fmt: skip
        add_matmul(net.theta1B, self._dx1B.T, x)
        dyhatA = self._dA  # both terms of ∂L/∂ŷA now
        add_matmul(net.theta2A, dyhatA.T, self._xDP)
        dxDP = np.matmul(dyhatA, net.theta2A.data, out=self._z1A)  # z1A is spent: reuse it
        scale_backward_bias_grad(dxDP, self._cm, net.b1A.grad)
        add_matmul(net.theta1A, dxDP.T, x)
