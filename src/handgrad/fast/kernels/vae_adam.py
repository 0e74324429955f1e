"""Many Adam steps of the MNIST VAE (one hidden layer each side, Bernoulli decoder) in
one compiled call: its training loop, chunk by chunk, with no Python between two steps.

One step is `handgrad.fast.steps.vae.FusedVAEStep`'s, which is ``VAE.elbo_terms`` →
``VAE.loss_backward`` (`handgrad.models.vae`) followed by `handgrad.optim.Adam.step`.
For a batch x (m, D), ε (m, K), with θ (out, in) as `handgrad.nn.Linear` holds them:

    H1 = relu(x W1ᵀ + b1)          [μ | logσ²] = H1 W2ᵀ + b2       z = μ + exp(½ logσ²) ⊙ ε
    Hd = relu(z W3ᵀ + b3)          l = Hd W4ᵀ + b4
    L = mean_i( Σ_d softplus(l) − x l  +  β · ½ Σ_k (μ² + σ² − 1 − logσ²) )

then the backward pass of s · L (s the optimiser's seed) and one Adam step per parameter
(`handgrad.fast.kernels.adam._adam`, the same numbers as ``Adam.step``). The products are
BLAS calls made from the loop (`handgrad.fast.blas`); the elementwise passes are the
VAE step's own kernels (`linear_relu`, `reparameterize_kl`, `bernoulli_nll`).

The work is split in two halves that two threads can take (``pair``, ``me`` 0 or 1:
`handgrad.fast.pair.split_steps`): half q owns the hidden units [h_q, h_q+1) of both
hidden layers (rows of W1, b1, W3, b3; columns of W2) and the output pixels
[d_q, d_q+1) (rows of W4, b4), computing their forward, gradients and Adam updates.
The threads meet four times a step (`handgrad.fast.sync.meet`): after the partial
encoder outputs (each half's H1 W2ᵀ over its units), after Hd, after the NLL (both
halves' gradients of l), and after the partial ∂L/∂z. Between meetings each computes
the small shared part (the latent layer: 20 units) on its own copy, with its own copy
of b2 and of b2's Adam state, updated the same way. One thread (``pair`` False) runs
both halves in the same order: the same numbers bit for bit.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast import blas
from handgrad.fast.blas import NO_TRANS, TRANS, product
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel
from handgrad.fast.kernels.adam import _adam
from handgrad.fast.kernels.batch_slots import gather_slot
from handgrad.fast.kernels.bernoulli_nll import bernoulli_nll_rows
from handgrad.fast.kernels.linear_relu import bias_relu, relu_backward_bias_grad
from handgrad.fast.kernels.reparameterize_kl import (
    reparameterize_kl,
    reparameterize_kl_backward,
)
from handgrad.fast.pair import split_steps
from handgrad.fast.sync import flags, meet
from handgrad.optim import FLUSH_EVERY, Adam, flush_threshold


@jit
def _adam_block(p, g, mom, vel, r0, r1, c0, c1, c, flush):
    """`_adam` on the block p[r0:r1, c0:c1] of a 2-D parameter, row by row;
    c = (inv_scale, decay, b1, b2, eps, k, tiny)."""
    for i in range(r0, r1):
        _adam(p[i, c0:c1], g[i, c0:c1], mom[i, c0:c1], vel[i, c0:c1], c[0], c[1], c[2], c[3],
              c[4], c[5], flush, c[6])  # fmt: skip


@jit
def _adam_span(p, g, mom, vel, c0, c1, c, flush):
    """`_adam` on p[c0:c1] of a 1-D parameter (c as `_adam_block`)."""
    _adam(p[c0:c1], g[c0:c1], mom[c0:c1], vel[c0:c1], c[0], c[1], c[2], c[3], c[4], c[5],
          flush, c[6])  # fmt: skip


@jit
def vae_adam_steps(bi, x, index, eps, batch, w, gr, am, av, b2s, consts, t0, beta, seed,
                   fast, hb, ob, pb, rec, kl, losses, flags, me, pair):  # fmt: skip
    """Adam steps on the batches x[index[i : i + batch]] (i = 0, batch, …; the last may
    be shorter) with noise eps[i : i + batch], as the module docstring; returns the
    number of steps taken. A step whose loss is not finite is not taken: its terms are
    left in ``rec``, ``kl``, ``losses`` and the loop stops.

    x (N, D) the data, index (n,) the chunk's rows of it, eps (n, K);
    w = (W1 (H, D), b1, W2 (2K, H), b2, W3 (H, K), b3, W4 (D, H), b4), updated in place
    (b2 is not used: each thread updates its own copy, b2s[me]); gr, am, av the same
    shapes: the gradients (written) and Adam's m and v (b2's are thread 0's copy;
    thread 1's live in pb); consts (steps, 7) each step's Adam scalars (inv_scale,
    decay, b1, b2, eps', k, tiny) in the weights' dtype (`Adam.constants` at t0 + s + 1;
    a flush where that t is a multiple of `FLUSH_EVERY`); seed the backward pass's seed
    s, β the KL weight; ``fast`` (float32) as `bernoulli_nll_rows` takes it.
    Buffers: hb the two halves' (3, batch, H_q) (H1, ∂H1, ∂Hd) and ob the two halves'
    (2, batch, D_q) (l, then its gradient; x's columns), contiguous each; pb = (xbuf (3, batch, D)
    shared, the gathered batches, batch s + 2 gathered during step s, half the rows per
    thread; hd (batch, H) shared; parts (2, batch, 2K) and dzp (2, batch, K) the halves'
    partial encoder outputs and ∂L/∂z; rows (2, batch) the halves' NLL per row; colsum
    (2, D) float64; per thread: stats (2, batch, 2K), lat (2, 4, batch, K) (z, σ ⊙ ε,
    σ², ∂L/∂z), dstats (2, batch, 2K), klb (2, batch), b2g, b2m, b2v (2, 2K)).
    rec, kl (n,) the rows' terms and losses (steps,) float64 the steps' L, written by
    thread 0.
    """
    w1, b1, w2, w3, b3, w4, b4 = w[0], w[1], w[2], w[4], w[5], w[6], w[7]
    g1, gb1, g2, g3, gb3, g4, gb4 = gr[0], gr[1], gr[2], gr[4], gr[5], gr[6], gr[7]
    xbuf, hd, parts, dzp, rows, colsum = pb[0], pb[1], pb[2], pb[3], pb[4], pb[5]
    stats, lat, dstats, klb = pb[6], pb[7], pb[8], pb[9]
    b2g, b2m, b2v = pb[10], pb[11], pb[12]
    n, k = index.shape[0], eps.shape[1]
    hc = np.array([0, w1.shape[0] // 2, w1.shape[0]])  # the halves' hidden units
    dc = np.array([0, w4.shape[0] // 2, w4.shape[0]])  # … and output pixels
    first, last = (me, me + 1) if pair else (0, 2)
    dt = w1.dtype.type
    one, zero = dt(1), dt(0)
    steps = (n + batch - 1) // batch
    gather_slot(x, index, 0, batch, me, pair, xbuf)  # batch s + 2 is gathered in step s
    gather_slot(x, index, 1, batch, me, pair, xbuf)
    if pair:
        meet(flags, me, 1)
    for s in range(steps):
        r0 = s * batch
        m = min(batch, n - r0)
        xs, es = xbuf[s % 3, :m], eps[r0 : r0 + m]
        st, z, noise = stats[me, :m], lat[me, 0, :m], lat[me, 1, :m]
        var, dz = lat[me, 2, :m], lat[me, 3, :m]
        g = dt(seed / m)
        count = 2 + 4 * s  # this step's meetings: count … count + 3
        # encoder: each half's H1 and its partial [μ | logσ²]
        for q in range(first, last):
            lo, hi = hc[q], hc[q + 1]
            h1 = hb[q][0, :m]
            product(bi, NO_TRANS, TRANS, one, xs, w1[lo:hi], zero, h1)
            bias_relu(h1, b1[lo:hi])
            product(bi, NO_TRANS, TRANS, one, h1, w2[:, lo:hi], zero, parts[q, :m])
        if pair:
            meet(flags, me, count)
        gather_slot(x, index, s + 2, batch, me, pair, xbuf)
        for i in range(m):
            for j in range(2 * k):
                st[i, j] = parts[0, i, j] + parts[1, i, j]
        reparameterize_kl(st, b2s[me], es, z, noise, var, klb[me, :m])
        # decoder: each half's Hd units, then (after meeting) its pixels' logits and NLL
        for q in range(first, last):
            lo, hi = hc[q], hc[q + 1]
            product(bi, NO_TRANS, TRANS, one, z, w3[lo:hi], zero, hd[:m, lo:hi])
            bias_relu(hd[:m, lo:hi], b3[lo:hi])
        if pair:
            meet(flags, me, count + 1)
        for q in range(first, last):
            lo, hi = dc[q], dc[q + 1]
            lq, xq = ob[q][0, :m], ob[q][1, :m]
            product(bi, NO_TRANS, TRANS, one, hd[:m], w4[lo:hi], zero, lq)
            for i in range(m):  # the pixels' targets, contiguous: the NLL's loops vectorise
                xq[i] = xs[i, lo:hi]
            colsum[q, lo:hi] = 0.0
            bernoulli_nll_rows(lq, b4[lo:hi], xq, g, rows[q, :m], colsum[q, lo:hi], fast)
        if pair:
            meet(flags, me, count + 2)
        total_rec, total_kl = 0.0, 0.0
        for i in range(m):
            ri = rows[0, i] + rows[1, i]
            total_rec += ri
            total_kl += klb[me, i]
            if me == 0:
                rec[r0 + i] = ri
                kl[r0 + i] = klb[me, i]
        loss = total_rec / m + beta * (total_kl / m)
        if me == 0:
            losses[s] = loss
        if not np.isfinite(loss):
            return s
        # backward, each half: W4's rows and b4 of its pixels, Hd's and W3's units
        for q in range(first, last):
            lo, hi = hc[q], hc[q + 1]
            dlo, dhi = dc[q], dc[q + 1]
            for j in range(dlo, dhi):
                gb4[j] = colsum[q, j]
            product(bi, TRANS, NO_TRANS, one, ob[q][0, :m], hd[:m], zero, g4[dlo:dhi])
            dhd = hb[q][2, :m]
            product(bi, NO_TRANS, NO_TRANS, one, ob[0][0, :m], w4[dc[0] : dc[1], lo:hi], zero, dhd)
            product(bi, NO_TRANS, NO_TRANS, one, ob[1][0, :m], w4[dc[1] : dc[2], lo:hi], one, dhd)
            gb3[lo:hi] = zero
            relu_backward_bias_grad(dhd, hd[:m, lo:hi], gb3[lo:hi])
            product(bi, TRANS, NO_TRANS, one, dhd, z, zero, g3[lo:hi])
            product(bi, NO_TRANS, NO_TRANS, one, dhd, w3[lo:hi], zero, dzp[q, :m])
        if pair:
            meet(flags, me, count + 3)
        for i in range(m):
            for j in range(k):
                dz[i, j] = dzp[0, i, j] + dzp[1, i, j]
        b2g[me] = zero
        gk = dt(beta * (seed / m))
        reparameterize_kl_backward(dz, st, noise, var, gk, dstats[me, :m], b2g[me])
        for q in range(first, last):
            lo, hi = hc[q], hc[q + 1]
            h1, dh1 = hb[q][0, :m], hb[q][1, :m]
            product(bi, TRANS, NO_TRANS, one, dstats[me, :m], h1, zero, g2[:, lo:hi])
            product(bi, NO_TRANS, NO_TRANS, one, dstats[me, :m], w2[:, lo:hi], zero, dh1)
            gb1[lo:hi] = zero
            relu_backward_bias_grad(dh1, h1, gb1[lo:hi])
            product(bi, TRANS, NO_TRANS, one, dh1, xs, zero, g1[lo:hi])
        # Adam: each half its own rows and columns; each thread its own b2
        c = consts[s]
        flush = (t0 + s + 1) % FLUSH_EVERY == 0
        for q in range(first, last):
            lo, hi = hc[q], hc[q + 1]
            dlo, dhi = dc[q], dc[q + 1]
            _adam_block(w1, g1, am[0], av[0], lo, hi, 0, w1.shape[1], c, flush)
            _adam_span(b1, gb1, am[1], av[1], lo, hi, c, flush)
            _adam_block(w2, g2, am[2], av[2], 0, w2.shape[0], lo, hi, c, flush)
            _adam_block(w3, g3, am[4], av[4], lo, hi, 0, w3.shape[1], c, flush)
            _adam_span(b3, gb3, am[5], av[5], lo, hi, c, flush)
            _adam_block(w4, g4, am[6], av[6], dlo, dhi, 0, w4.shape[1], c, flush)
            _adam_span(b4, gb4, am[7], av[7], dlo, dhi, c, flush)
        _adam_span(b2s[me], b2g[me], b2m[me], b2v[me], 0, 2 * k, c, flush)
    return steps


class SteppedVAE:
    """The buffers of `vae_adam_steps` for a VAE's eight parameters (W1, b1, W2, b2, W3,
    b3, W4, b4 as `handgrad.nn.Parameter` s), their `Adam` optimiser and a batch size.
    Called as ``stepped(x, index, rng, beta, seed)`` → (rec, kl, losses, steps taken),
    it trains on the batches of x[index] with ε drawn from ``rng`` (the same draws, in
    the same order, as a draw of (m, K) per step, and ``rng`` left where those steps
    leave it), on two threads where `handgrad.fast.pair.split_steps` finds it worth it.

    ``arrays`` names the arrays it was built on (`current_arrays`): it must be rebuilt
    when one is replaced."""

    def __init__(self, params, optimizer: Adam, batch: int):
        slot = {id(p): i for i, p in enumerate(optimizer.params)}
        self.params, self.optimizer, self.batch = tuple(params), optimizer, batch
        self.m = tuple(optimizer.m[slot[id(p)]] for p in self.params)
        self.v = tuple(optimizer.v[slot[id(p)]] for p in self.params)
        self.arrays = self.current_arrays(self.params, optimizer)
        w1, w2, w4 = (self.params[i].data for i in (0, 2, 6))
        dtype, (hidden, d), k2 = w1.dtype, w1.shape, w2.shape[0]
        halves = (hidden // 2, hidden - hidden // 2)
        self.hb = tuple(np.empty((3, batch, h), dtype) for h in halves)
        self.ob = tuple(np.empty((2, batch, w), dtype) for w in (d // 2, d - d // 2))
        self.pb = (
            np.empty((3, batch, d), dtype),  # xbuf
            np.empty((batch, hidden), dtype),  # hd
            np.empty((2, batch, k2), dtype),  # parts
            np.empty((2, batch, k2 // 2), dtype),  # dzp
            np.empty((2, batch), dtype),  # rows
            np.zeros((2, d)),  # colsum
            np.empty((2, batch, k2), dtype),  # stats
            np.empty((2, 4, batch, k2 // 2), dtype),  # lat
            np.empty((2, batch, k2), dtype),  # dstats
            np.empty((2, batch), dtype),  # klb
            *(np.empty((2, k2), dtype) for _ in range(3)),  # b2g, b2m, b2v
        )
        self.macs = batch * d * w4.shape[1]

    @staticmethod
    def current_arrays(params, optimizer: Adam) -> tuple[int, ...]:
        """The identities of every array the compiled loop reads and writes."""
        return tuple(id(a) for p in params for a in (p.data, p.grad)) + tuple(
            id(a) for a in (*optimizer.m, *optimizer.v)
        )

    def __call__(self, x, index, rng, beta, seed):
        opt, (_, _, _, b2, *_) = self.optimizer, self.params
        dtype, k = x.dtype, b2.data.shape[0] // 2
        n, batch = index.shape[0], self.batch
        steps = -(-n // batch)
        state = rng.bit_generator.state
        eps = rng.standard_normal((n, k), dtype=dtype)  # as one draw of (m, K) per step
        t0, inv = opt.t, 1.0 if seed == 1.0 else 1.0 / seed
        consts = np.empty((steps, 7), dtype)
        for s in range(steps):
            opt.t = t0 + s + 1
            decay, eps_, k_ = opt.constants()
            consts[s] = (inv, decay, opt.b1, opt.b2, eps_, k_, flush_threshold(dtype))
        opt.t = t0
        b2m, b2v = self.pb[11:]
        b2s = np.stack([b2.data, b2.data])
        b2m[:], b2v[:] = self.m[3], self.v[3]
        rec, kl, losses = np.empty(n, dtype), np.empty(n, dtype), np.empty(steps)
        w = tuple(p.data for p in self.params)
        gr = tuple(p.grad for p in self.params)
        barrier, fast = flags(), dtype == np.float32

        def run(me, two):
            return vae_adam_steps(
                blas.available().int, x, index, eps, batch, w, gr, self.m, self.v, b2s,
                consts, t0, float(beta), float(seed), fast, self.hb, self.ob, self.pb, rec, kl,
                losses, barrier, me, two,
            )  # fmt: skip

        taken, _ = split_steps(run, self.macs)
        opt.t = t0 + taken
        b2.data[...], self.m[3][...], self.v[3][...] = b2s[0], b2m[0], b2v[0]
        if taken < steps:  # ε drawn up to the step not taken, as a step at a time draws it
            rng.bit_generator.state = state
            rng.standard_normal((min(n, (taken + 1) * batch), k), dtype=dtype)
        end = min(taken + 1, steps)
        return rec[: min(n, end * batch)], kl[: min(n, end * batch)], losses[:end], taken


def _example(rng, dtype):
    from handgrad.models.vae import VAE

    vae = VAE(9, 3, (6,), decoder="bernoulli", rng=np.random.default_rng(4), dtype=dtype)
    x = rng.random((23, 9)).astype(dtype)  # 4 batches of 5, one of 3
    x[:, 0] = 0.0  # a pixel that is always 0, as MNIST's borders
    return vae, x, 5


def _formula(vae, x, batch):
    from handgrad.fast.step import PlainStep

    return _trained(vae, x, batch, lambda v, opt: PlainStep("numpy", v, None, opt,
                                                            lambda o, s: o.step(s)))  # fmt: skip


def _run(vae, x, batch):
    from handgrad.fast import engine as engines

    def fused(v, opt):
        step = engines.get("fused").step(v, None, opt)
        assert step.gathers_rows and step.compiled_chunks()
        return step

    return _trained(vae, x, batch, fused, index=np.arange(x.shape[0])[::-1].copy())


def _trained(vae, x, batch, make_step, index=None):
    """Adam steps of a copy of ``vae`` over x's batches (x[index] …, or x reversed for
    the formula when ``index`` is given to the kernel), four times over: the
    per-row terms, the losses, the parameters, Adam's state and the Generator's next
    draws."""
    import copy

    vae = copy.deepcopy(vae)
    opt, rng = Adam(vae.parameters(), lr=0.05), np.random.default_rng(3)
    step = make_step(vae, opt)
    rows = (x[::-1].copy(),) if index is None else (x,)
    outs = []
    for _ in range(4):  # 20 steps: past a flush of Adam's state (FLUSH_EVERY = 16)
        outs += step.train_chunk(rows, batch, index, rng=rng)
    named = {f"θ{i}": p.data for i, p in enumerate(vae.parameters())}
    terms = {key: np.concatenate([getattr(o, key) for o in outs]) for key in ("rec", "kl")}
    return {**terms, "losses": np.array([o.loss for o in outs]), **named, **opt.state_dict(),
            "rng": rng.random(3)}  # fmt: skip


HELPERS = (_adam_block, _adam_span)
"""Compiled functions called by the kernel above, not formulas of their own."""

KERNELS = (
    Kernel(
        (vae_adam_steps,),
        "VAE.elbo_terms → VAE.loss_backward (Bernoulli decoder, one ReLU layer each side) "
        "+ Adam.step, step by step",
        _example,
        _formula,
        _run,
    ),
)
