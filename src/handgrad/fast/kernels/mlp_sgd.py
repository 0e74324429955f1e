"""Many plain-SGD steps of a one-hidden-layer ReLU MLP with softmax cross-entropy, in
one compiled call: the reference run's whole training loop, chunk by chunk.

One step, for a batch x (m, d) with labels y, weights W1 (h, d), b1, W2 (k, h), b2 and
the learning rate folded into the loss's seed (s = lr, `handgrad.optim.SGD.grad_scale`):

    H = relu(x W1ᵀ + b1)            Z = H W2ᵀ + b2            L = mean CE(softmax Z, y)
    G = s ∂L/∂Z = s (softmax Z − onehot y) / m
    dH = (G W2) ⊙ 1[H > 0]
    W2 ← W2 − Gᵀ H    b2 ← b2 − Σ_rows G    W1 ← W1 − dHᵀ x    b1 ← b1 − Σ_rows dH

(`handgrad.nn.Linear`, `ReLU`, `SoftmaxCrossEntropy`, `SGD.step`). Python's per-step
cost (a dozen calls of a few µs) is gone: the products are BLAS calls made from the
compiled loop (`handgrad.fast.blas`), and each weight update is folded into its
gradient's product (C ← C − AᵀB, BLAS's beta = 1), so no gradient array is written.

The hidden units are split in two halves [0, h/2) and [h/2, h). Every product runs
per half: the first layer's rows of W1, the second layer's partial logits
Z = (H₀ W2₀ᵀ + H₁ W2₁ᵀ) + b2, and each half's updates touch only its own rows of W1 and
b1 and columns of W2. So two threads can each take a half (`pair=True`, ``me`` 0 or 1:
`handgrad.fast.pair`), meeting once per step after the partial logits
(`handgrad.fast.sync.meet`); both then compute the softmax (a few hundred operations)
instead of waiting for each other again, each updating its own copy of b2. One thread
(`pair=False`) runs both halves in the same order, so the numbers are the same bit for
bit on one core or two.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast import blas
from handgrad.fast.blas import NO_TRANS, TRANS, product
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.fast.kernels.batch_slots import gather_slot
from handgrad.fast.kernels.linear_relu import bias_relu, relu_backward_bias_grad
from handgrad.fast.kernels.sgd import subtract
from handgrad.fast.kernels.softmax_xent import softmax_xent
from handgrad.fast.pair import split_steps
from handgrad.fast.sync import flags, meet
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.optim import SGD


@jit
def _forward_half(bi, x, w1, b1, w2, h, part, lo, hi):
    """H_q = relu(x W1[lo:hi]ᵀ + b1[lo:hi]) (the half's H, in its own buffer h);
    part = H_q W2[:, lo:hi]ᵀ."""
    hh = h[: x.shape[0]]  # contiguous, so the elementwise loops vectorise
    product(bi, NO_TRANS, TRANS, 1.0, x, w1[lo:hi], 0.0, hh)
    bias_relu(hh, b1[lo:hi])
    product(bi, NO_TRANS, TRANS, 1.0, hh, w2[:, lo:hi], 0.0, part)


@jit
def _backward_half(bi, x, w1, b1, w2, h, dh, g, lo, hi):
    """dH_q = (G W2[:, lo:hi]) ⊙ 1[H_q > 0] into dh; then W2[:, lo:hi] −= Gᵀ H_q,
    b1[lo:hi] −= Σ_rows dH_q, W1[lo:hi] −= dH_qᵀ x."""
    m = x.shape[0]
    hh, dhh, w2h, w1h = h[:m], dh[:m], w2[:, lo:hi], w1[lo:hi]
    product(bi, NO_TRANS, NO_TRANS, 1.0, g, w2h, 0.0, dhh)
    product(bi, TRANS, NO_TRANS, -1.0, g, hh, 1.0, w2h)
    db = np.zeros(hi - lo, b1.dtype)
    relu_backward_bias_grad(dhh, hh, db)
    subtract(b1[lo:hi], db)
    product(bi, TRANS, NO_TRANS, -1.0, dhh, x, 1.0, w1h)


@jit
def mlp_sgd_steps(bi, x, y, index, batch, w1, b1, w2, b2, seed, h, dh, parts, g, xbuf, ybuf,
                  losses, correct, flags, me, pair):  # fmt: skip
    """Plain-SGD steps on the batches x[index[i : i + batch]], y[index[…]] (i = 0,
    batch, …; the last may be shorter), as the module docstring; returns the number of
    steps taken. A step whose loss is not finite (or whose labels fall outside [0, k))
    is not taken: its loss (nan for a bad label) is left in ``losses`` and the loop stops.

    x (n, d), y (n,) ints, index (r,) rows of them; w1 (h, d), b1 (h,), w2 (k, h),
    b2 (k,) updated in place; seed = s above; h, dh the two halves' (batch, h_q) buffers
    of H and ∂L/∂H; parts (2, 2, batch, k) the partial logits by step parity and half; g
    (batch, k) this thread's own; xbuf (3, batch, d), ybuf (3, batch) the gathered
    batches, shared: batch s + 2 is gathered during step s, after the threads meet (so
    nobody still reads batch s − 1's slot), each thread gathering half of its rows;
    losses (steps,) float64 and correct (steps,) int64 written by thread 0 (the mean
    loss and the correct count of each step); flags a `handgrad.fast.sync.flags`
    barrier; me the thread (0 or 1) with ``pair``, else 0 running both halves.
    bi: a zero of the BLAS's integer type (`handgrad.fast.blas.BlasInfo.int`).
    """
    n = index.shape[0]
    cut = np.array([0, w1.shape[0] // 2, w1.shape[0]])  # the two halves' bounds
    first, last = (me, me + 1) if pair else (0, 2)  # the halves this thread runs
    steps = (n + batch - 1) // batch
    for s in range(2):  # the first two batches; batch s + 2 is gathered in step s
        gather_slot(x, index, s, batch, me, pair, xbuf)
        gather_slot(y, index, s, batch, me, pair, ybuf)
    if pair:
        meet(flags, me, 1)
    for s in range(steps):
        m = min(batch, n - s * batch)
        xs, ys, gs = xbuf[s % 3, :m], ybuf[s % 3, :m], g[:m]
        par = s % 2
        for q in range(first, last):
            _forward_half(bi, xs, w1, b1, w2, h[q], parts[par, q, :m], cut[q], cut[q + 1])
        if pair:
            meet(flags, me, s + 2)
        gather_slot(x, index, s + 2, batch, me, pair, xbuf)
        gather_slot(y, index, s + 2, batch, me, pair, ybuf)
        for i in range(m):
            for j in range(gs.shape[1]):
                gs[i, j] = parts[par, 0, i, j] + parts[par, 1, i, j]
        db = np.zeros(b2.shape[0], b2.dtype)
        scale = db[:1].copy()
        scale[0] = seed / m  # rounded to the weights' dtype, as the step's seed is
        total, right = softmax_xent(gs, b2, ys, scale[0], db)
        if me == 0:
            losses[s] = total / m
            correct[s] = right
        if right < 0 or not np.isfinite(total):
            return s
        subtract(b2, db)
        for q in range(first, last):
            _backward_half(bi, xs, w1, b1, w2, h[q], dh[q], gs, cut[q], cut[q + 1])
    return steps


def _example(rng, dtype):
    d, hidden, k, batch = 9, 6, 4, 5
    x, y = randn(rng, dtype, 23, d), rng.integers(0, k, 23)  # 4 batches of 5, one of 3
    weights = [randn(rng, dtype, *shape, scale=0.5) for shape in [(hidden, d), (hidden,),
                                                                  (k, hidden), (k,)]]  # fmt: skip
    return x, y, batch, weights, 0.3


def _formula(x, y, batch, weights, lr):
    from handgrad.models.mlp import MLP

    mlp = MLP([x.shape[1], weights[0].shape[0], weights[2].shape[0]], dtype=x.dtype)
    for p, w in zip(mlp.parameters(), weights, strict=True):
        p.data[...] = w
    loss, opt, losses = SoftmaxCrossEntropy(), SGD(mlp.parameters(), lr=lr), []
    for i in range(0, x.shape[0], batch):
        opt.zero_grad()
        losses.append(loss.forward(mlp.forward(x[i : i + batch]), y[i : i + batch]))
        mlp.backward(loss.backward(opt.grad_scale), input_grad=False)
        opt.step(opt.grad_scale)
    return {"losses": np.array(losses), **{f"θ{i}": p.data for i, p in enumerate(mlp.parameters())}}


def _run(x, y, batch, weights, lr):
    weights = [w.copy() for w in weights]
    run = SteppedMLP(*weights, batch)
    losses, _, taken, _ = run(x, y, lr)
    assert taken == len(losses)
    return {"losses": losses, **{f"θ{i}": w for i, w in enumerate(weights)}}


class SteppedMLP:
    """The buffers of `mlp_sgd_steps` for weights (w1, b1, w2, b2) and a batch size;
    ``run(x, y, seed, split, index)`` → (losses, correct counts, steps taken, whether
    two threads ran) for the batches of x[index], y[index] (index: all rows in order if
    None), split over two threads where `handgrad.fast.pair.split_steps` finds it worth
    it (``split``), else on this one."""

    def __init__(self, w1, b1, w2, b2, batch):
        self.weights, self.batch = (w1, b1, w2, b2), batch
        dtype, (hidden, k) = w1.dtype, (w1.shape[0], w2.shape[0])
        widths = (hidden // 2, hidden - hidden // 2)  # each half's H and ∂L/∂H on their own
        self.h = tuple(np.empty((batch, w), dtype) for w in widths)
        self.dh = tuple(np.empty((batch, w), dtype) for w in widths)
        self.parts = np.empty((2, 2, batch, k), dtype)
        self.g = [np.empty((batch, k), dtype) for _ in range(2)]
        self.xbuf = np.empty((3, batch, w1.shape[1]), dtype)
        self.ybuf = np.zeros((3, batch), np.int64)

    def __call__(self, x, y, seed, split=False, index=None):
        index = np.arange(x.shape[0]) if index is None else index
        steps = -(-index.shape[0] // self.batch)
        losses, correct = np.empty(steps), np.zeros(steps, np.int64)
        w1, b1, w2, b2 = self.weights
        seed, barrier = w1.dtype.type(seed), flags()
        b2s = (b2, b2.copy())  # thread 1 updates its own copy the same way

        def run(me, two):
            return mlp_sgd_steps(
                blas.available().int, x, y, index, self.batch, w1, b1, w2, b2s[me], seed,
                self.h, self.dh, self.parts, self.g[me], self.xbuf, self.ybuf, losses, correct,
                barrier, me, two,
            )  # fmt: skip

        macs = self.batch * w1.shape[1] * w1.shape[0] if split else 0
        taken, together = split_steps(run, macs)
        end = min(taken + 1, steps)  # the steps taken and a step not taken
        return losses[:end], correct[:end], taken, together


KERNELS = (
    Kernel(
        (mlp_sgd_steps, _forward_half, _backward_half),
        "MLP (Linear, ReLU, Linear) + SoftmaxCrossEntropy + SGD.step, step by step",
        _example,
        _formula,
        _run,
    ),
)
