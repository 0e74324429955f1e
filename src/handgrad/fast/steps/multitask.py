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

Under plain SGD, `train_chunk` runs a chunk's steps in one compiled call
(`handgrad.fast.kernels.multitask_sgd`); other optimisers step batch by batch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast import blas
from handgrad.fast.kernels.bn_star import bn_star_backward, bn_star_forward
from handgrad.fast.kernels.dropout_mask import draw_dropout_mask
from handgrad.fast.kernels.multitask_sgd import multitask_sgd_steps, split_halves
from handgrad.fast.kernels.sin_dropout import scale_backward_bias_grad, sin_dropout
from handgrad.fast.kernels.softmax_xent import softmax_xent
from handgrad.fast.pair import split_steps
from handgrad.fast.step import Step
from handgrad.fast.steps import fused_step
from handgrad.fast.sync import flags
from handgrad.models.multitask import MultiTaskNet, TaskLosses
from handgrad.optim import SGD

# `train_chunk` draws the dropout masks of at most this many bytes at a time.
MASKS_BYTES = 1 << 20


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

    def compiled_chunks(self) -> bool:
        """True if `train_chunk` runs compiled: plain SGD, contiguous parameters, a BLAS
        the compiled loop can call."""
        opt = self.optimizer
        return (
            type(opt) is SGD
            and opt.plain
            and all(p.data.flags.c_contiguous for p in self.model.parameters())
            and blas.available() is not None
        )

    def train_chunk(self, rows: tuple[np.ndarray, ...], batch_size: int,
                    index: np.ndarray | None = None) -> list[TaskLosses]:  # fmt: skip
        """`Step.train_chunk`: compiled (`multitask_sgd_steps`, split over two threads
        where it pays: `handgrad.fast.pair.split_steps`) under plain SGD, in pieces whose
        dropout masks fit in `MASKS_BYTES`; batch by batch otherwise."""
        if index is not None or not self.compiled_chunks():
            return super().train_chunk(rows, batch_size, index)
        x, yA, labels = rows
        self._check(x, yA)
        net = self.model
        self.seed, self._forward_done = self.optimizer.grad_scale, False
        self._chunk_buffers(batch_size)
        piece = self._mask_piece.shape[0]
        outs: list[TaskLosses] = []
        for c in range(0, x.shape[0], piece):
            r = min(piece, x.shape[0] - c)
            mask, rng = self._mask_piece[:r], net.dropout.rng
            before = rng.bit_generator.state
            if net.p:  # the masks of the piece's steps, in order: as many draws as `Dropout`'s
                draw_dropout_mask(rng, net.p, mask)
            losses, correct, taken = self._piece(x[c : c + r], yA[c : c + r],
                                                 labels[c : c + r], mask, batch_size)  # fmt: skip
            outs += [TaskLosses(*ab) for ab in losses[:, : taken + 1].T.tolist()]
            if taken < losses.shape[1]:
                if net.p:  # the Generator where a step at a time leaves it: past the step
                    rng.bit_generator.state = before  # not taken, no further
                    draw_dropout_mask(rng, net.p, mask[: (taken + 1) * batch_size])
                if correct[taken] < 0:
                    self._label_error(labels[c + taken * batch_size - correct[taken] - 1])
                break
        net.last_losses = outs[-1]
        return outs

    def _piece(self, x, yA, labels, mask, batch):
        """`multitask_sgd_steps` over these rows → (losses (2, steps), correct, taken)."""
        net, t = self.model, self.model.dtype.type
        steps = -(-x.shape[0] // batch)
        losses, correct, barrier = np.zeros((2, steps)), np.zeros(steps, np.int64), flags()
        own = [net.b2A.data, net.theta1B.data, net.b1B.data, net.theta2B.data, net.b2B.data,
               net.running_mean]  # fmt: skip
        rest = (own, [a.copy() for a in own])  # thread 1 updates its own copies alike
        shared = (net.theta1A.data, net.b1A.data, net.theta2A.data)
        halves = (self._halves[0][: x.shape[0]], self._halves[1][: x.shape[0]])
        split_halves(mask, halves[0], halves[1])
        drop = (t(net.momentum), halves, net.dtype == np.float32)

        def run(me: int, two: bool) -> int:
            return multitask_sgd_steps(
                blas.available().int, x, yA, labels, batch, *shared, *rest[me], *drop,
                t(self.seed), self._hbufs, self._parts, self._abuf[me], self._z2b[me], losses,
                correct, barrier, me, two,
            )  # fmt: skip

        taken, _ = split_steps(run, batch * net.n_in * net.n_hidden)
        return losses, correct, taken

    def _chunk_buffers(self, batch: int) -> None:
        net, dt = self.model, self.model.dtype
        if getattr(self, "_chunk_batch", None) != batch:
            h, a = net.n_hidden, net.n_out_a
            piece = max(1, MASKS_BYTES // (dt.itemsize * h) // batch) * batch
            self._mask_piece = np.ones((piece, h), dt)  # M; all ones when p = 0
            widths = (h // 2, h - h // 2)  # task A's hidden units in two halves, each
            self._halves = tuple(np.empty((piece, w), dt) for w in widths)  # contiguous
            self._hbufs = tuple(np.empty((3, batch, w), dt) for w in widths)
            self._parts = np.empty((2, 2, batch, a), dt)
            self._abuf = [np.empty((7, batch, a), dt) for _ in range(2)]
            self._z2b = [np.empty((batch, net.n_classes), dt) for _ in range(2)]
            self._chunk_batch = batch

    def _check(self, x: np.ndarray, yA: np.ndarray) -> None:
        net, m = self.model, x.shape[0]
        if x.dtype != net.dtype or x.shape[1:] != (net.n_in,) or yA.shape != (m, net.n_out_a):
            raise HandgradError(
                f"{net!r} expects x (m, {net.n_in}) and yA (m, {net.n_out_a}) of dtype "
                f"{net.dtype}, got {x.shape} {x.dtype} and {yA.shape}"
            )

    def _label_error(self, label: int) -> None:
        raise HandgradError(
            f"label {label} is outside the {self.model.n_classes} classes; check the data"
        )

    def _forward(self, x: np.ndarray, yA: np.ndarray, labels: np.ndarray) -> TaskLosses:
        net, m = self.model, x.shape[0]
        self._check(x, yA)
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
            self._label_error(labels[-correct - 1])
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
