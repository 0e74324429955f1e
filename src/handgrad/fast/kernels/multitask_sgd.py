"""Many plain-SGD steps of the multi-task network in one compiled call: its training
loop, chunk by chunk, with no Python between two steps.

Each step is `handgrad.fast.steps.multitask.FusedMultiTaskStep`'s (the derivation's
forward and backward, report 000 §2.2, `MultiTaskNet.forward` / ``backward``): the six
products are BLAS calls made from the compiled loop (`handgrad.fast.blas`), the
elementwise work the same kernels (`sin_dropout`, `bn_star`, `softmax_xent`), and the
update θ ← θ − G of plain SGD (the learning rate folded into the loss's seed,
`handgrad.optim.SGD.grad_scale`) folded into each weight gradient's product
(C ← C − AᵀB, BLAS's beta = 1), after the products that still read that weight. The
dropout masks of the chunk's rows come in ``mask``, drawn by the caller from the
network's Generator in one call (`handgrad.fast.kernels.dropout_mask`): the same
uniforms, in the same order, as a draw per step (`handgrad.nn.Dropout`'s), and the
Generator left where those steps leave it.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast.blas import NO_TRANS, TRANS, product
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.fast.kernels.bn_star import bn_star_backward, bn_star_forward
from handgrad.fast.kernels.sgd import subtract
from handgrad.fast.kernels.sin_dropout import scale_backward_bias_grad, sin_dropout
from handgrad.fast.kernels.softmax_xent import softmax_xent
from handgrad.fast.sync import meet


@jit
def split_halves(mask, first, second):
    """first ← mask[:, :w], second ← mask[:, w:] (w = first's width): the two halves of
    the hidden units' masks, each contiguous."""
    w = first.shape[1]
    for i in range(mask.shape[0]):
        for j in range(w):
            first[i, j] = mask[i, j]
        for j in range(second.shape[1]):
            second[i, j] = mask[i, w + j]


@jit
def _hidden_forward(bi, xs, masks, t1a, b1a, t2a, fast, hb, part, lo, hi):
    """Task A's hidden units [lo, hi): z1A = x θ1Aᵀ, then xDP and M ⊙ cos(z1A)
    (`sin_dropout`, on this half's own contiguous buffers hb (3, batch, hi − lo) and
    masks (m, hi − lo), so its loops vectorise); part = xDP θ2Aᵀ over those units."""
    m = xs.shape[0]
    z1a, xdp, cm = hb[0, :m], hb[1, :m], hb[2, :m]
    one = t1a.dtype.type(1)
    product(bi, NO_TRANS, TRANS, one, xs, t1a[lo:hi], 0.0, z1a)
    sin_dropout(z1a, b1a[lo:hi], masks, xdp, cm, fast)
    product(bi, NO_TRANS, TRANS, one, xdp, t2a[:, lo:hi], 0.0, part)


@jit
def _hidden_backward(bi, xs, da, t1a, b1a, t2a, hb, lo, hi):
    """Its backward and update: ∂L/∂xDP = ∂(ŷA) θ2A over spent z1A, θ2A[:, lo:hi] −=
    ∂(ŷA)ᵀ xDP, ∂L/∂z1A (`scale_backward_bias_grad`), θ1A[lo:hi] −= ∂L/∂z1Aᵀ x and
    b1A[lo:hi] −= its row sum."""
    m = xs.shape[0]
    dz, xdp, cm = hb[0, :m], hb[1, :m], hb[2, :m]
    one = t1a.dtype.type(1)
    product(bi, NO_TRANS, NO_TRANS, one, da, t2a[:, lo:hi], 0.0, dz)
    product(bi, TRANS, NO_TRANS, -one, da, xdp, one, t2a[:, lo:hi])
    db1a = np.zeros(hi - lo, b1a.dtype)
    scale_backward_bias_grad(dz, cm, db1a)
    product(bi, TRANS, NO_TRANS, -one, dz, xs, one, t1a[lo:hi])
    subtract(b1a[lo:hi], db1a)


@jit
def multitask_sgd_steps(bi, x, ya, labels, batch, t1a, b1a, t2a, b2a, t1b, b1b, t2b, b2b,
                        running, momentum, masks, fast, seed, hbufs, parts, abuf, z2b, losses,
                        correct, flags, me, pair):  # fmt: skip
    """Plain-SGD steps on the batches x[i : i + batch], ya[…], labels[…] (i = 0, batch,
    …; the last may be shorter), with the dropout masks of those rows; returns the
    number of steps taken. A step whose loss is not finite (or whose labels fall
    outside [0, b)) is not taken and the loop stops there, its losses left in
    ``losses`` (nan for a bad label, with correct = −1 − its row).

    x (r, n), ya (r, a), labels (r,); masks the two halves (r, h₀), (r, h₁) of M =
    1[u ≥ p]/(1 − p) (r, h); the eight parameters updated in place, θ (out, in) as
    `MultiTaskNet` holds them; running (a,) BN*'s running mean; ``fast`` (float32) as
    `sin_dropout` takes it; seed = s of the module docstring; hbufs the two halves'
    buffers (3, batch, h_q), shared; parts (2, 2, batch, a) the
    partial ŷA by step parity and half, abuf (7, batch, a), z2b (batch, b) this
    thread's; losses (2, steps) float64 (L_A, L_B) and correct (steps,) int64 written by
    thread 0.

    Task A's hidden units, most of the work, are split in two halves, each product and
    update per half; so two threads (``pair``, ``me`` 0 or 1) can each take one and
    meet once per step, after their partial ŷA (`handgrad.fast.sync.meet`, ``flags``).
    Both then run the small rest (BN*, task B, the losses) on their own copies of
    θ1B, b1B, θ2B, b2B, b2A and the running mean, updated the same way. One thread
    (``pair`` False) runs both halves in the same order: the same numbers bit for bit.
    """
    r = x.shape[0]
    steps = (r + batch - 1) // batch
    one = t1a.dtype.type(1)
    cut = np.array([0, t1a.shape[0] // 2, t1a.shape[0]])
    first, last = (me, me + 1) if pair else (0, 2)
    for s in range(steps):
        i0 = s * batch
        m = min(batch, r - i0)
        xs, yas, ls = x[i0 : i0 + m], ya[i0 : i0 + m], labels[i0 : i0 + m]
        x2a, x1b, xplus, da = abuf[0, :m], abuf[1, :m], abuf[2, :m], abuf[3, :m]
        dxplus, dx1b, z = abuf[4, :m], abuf[5, :m], z2b[:m]
        par = s % 2
        for q in range(first, last):
            _hidden_forward(bi, xs, masks[q][i0 : i0 + m], t1a, b1a, t2a, fast, hbufs[q],
                            parts[par, q, :m], cut[q], cut[q + 1])  # fmt: skip
        if pair:
            meet(flags, me, s + 1)
        for i in range(m):
            for j in range(x2a.shape[1]):
                x2a[i, j] = parts[par, 0, i, j] + parts[par, 1, i, j]
        g = t1a.dtype.type(seed / m)
        product(bi, NO_TRANS, TRANS, one, xs, t1b, 0.0, x1b)
        la = bn_star_forward(x1b, b1b, running, momentum, x2a, b2a, yas, g, xplus, da)
        product(bi, NO_TRANS, TRANS, one, xplus, t2b, 0.0, z)
        db2b = np.zeros(b2b.shape[0], b2b.dtype)
        total, right = softmax_xent(z, b2b, ls, g, db2b)
        if me == 0:
            losses[0, s], losses[1, s], correct[s] = 0.5 * la / m, total / m, right
        if right < 0 or not np.isfinite(la) or not np.isfinite(total):
            return s
        # backward: each weight's gradient product updates it once nothing reads it
        product(bi, NO_TRANS, NO_TRANS, one, z, t2b, 0.0, dxplus)
        product(bi, TRANS, NO_TRANS, -one, z, xplus, one, t2b)
        db1b, db2a = np.zeros(b1b.shape[0], b1b.dtype), np.zeros(b2a.shape[0], b2a.dtype)
        bn_star_backward(dxplus, x1b, da, dx1b, db1b, db2a)
        product(bi, TRANS, NO_TRANS, -one, dx1b, xs, one, t1b)
        subtract(b1b, db1b)
        subtract(b2a, db2a)
        subtract(b2b, db2b)
        for q in range(first, last):
            _hidden_backward(bi, xs, da, t1a, b1a, t2a, hbufs[q], cut[q], cut[q + 1])
    return steps


def _example(rng, dtype):
    from handgrad.models.multitask import MultiTaskNet

    net = MultiTaskNet(5, 7, 3, 4, p=0.3, seed=2, dtype=dtype)
    x, ya = randn(rng, dtype, 23, 5), randn(rng, dtype, 23, 3)
    return net, x, ya, rng.integers(0, 4, 23), 5, 0.2  # 4 batches of 5, one of 3


def _formula(net, x, ya, labels, batch, lr):
    import copy

    from handgrad.fast.step import PlainStep
    from handgrad.optim import SGD

    net = copy.deepcopy(net)
    opt = SGD(net.parameters(), lr=lr)
    step = PlainStep("numpy", net, None, opt, lambda o, s: o.step(s))
    outs = step.train_chunk((x, ya, labels), batch)
    return _named(net, outs)


def _run(net, x, ya, labels, batch, lr):
    import copy

    from handgrad.fast import engine as engines
    from handgrad.optim import SGD

    net = copy.deepcopy(net)
    step = engines.get("fused").step(net, None, SGD(net.parameters(), lr=lr))
    assert step.gathers_rows is False and step.compiled_chunks()
    return _named(net, step.train_chunk((x, ya, labels), batch))


def _named(net, outs):
    state = {f"θ{i}": p.data for i, p in enumerate(net.parameters())}
    return {"L_A": np.array([o.loss_a for o in outs]), "L_B": np.array([o.loss_b for o in outs]),
            **state, "running": net.running_mean, "rng": net.dropout.rng.random(3)}  # fmt: skip


KERNELS = (
    Kernel(
        (multitask_sgd_steps, split_halves, _hidden_forward, _hidden_backward),
        "MultiTaskNet's forward, objective and backward + SGD.step, step by step",
        _example,
        _formula,
        _run,
    ),
)
