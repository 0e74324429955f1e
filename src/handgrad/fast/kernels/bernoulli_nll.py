"""The VAE's Bernoulli decoder output: Linear's bias, `BernoulliNLL` per example, its
gradient and the bias gradient, in one pass over the logits."""

from __future__ import annotations

import numpy as np

from handgrad.fast import pair
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.vae_losses import BernoulliNLL


@jit
def bernoulli_nll_rows(logits, b, x, g, rows):
    """Bernoulli negative log-likelihood from logits and its gradient, row by row.

    With l ← logits + b (the decoder's last bias): rows_i = Σ_d softplus(l_id) − x_id l_id
    (`BernoulliNLL.forward`, softplus(l) = max(l, 0) + log1p(e^{−|l|}), summed in
    float64); logits ← g (sigmoid(l) − x) in place (`BernoulliNLL.backward(g)`), with
    sigmoid(l) from the same e^{−|l|}: 1/(1 + e) for l ≥ 0, e/(1 + e) below. Any block
    of rows gives the same numbers for its rows. logits, x (m, D); b (D,); rows (m,).
    """
    m, n = logits.shape
    one, zero = logits.dtype.type(1), logits.dtype.type(0)
    for i in range(m):
        r = 0.0
        for j in range(n):
            lij = logits[i, j] + b[j]
            e = np.exp(-np.abs(lij))
            r += (lij if lij > zero else zero) + np.log1p(e) - x[i, j] * lij
            p = one / (one + e) if lij >= zero else e / (one + e)
            logits[i, j] = g * (p - x[i, j])
        rows[i] = r


@jit
def add_column_sums(d, bgrad):
    """bgrad += Σ_rows d (the bias gradient), summed in float64 with the rows in order.
    d (m, n); bgrad (n,)."""
    m, n = d.shape
    acc = np.zeros(n)
    for i in range(m):
        for j in range(n):
            acc[j] += d[i, j]
    for j in range(n):
        bgrad[j] += acc[j]


def bernoulli_nll(logits, b, x, g, rows, bgrad):
    """`bernoulli_nll_rows`, then bgrad += Σ_rows of the gradient (`add_column_sums`).

    The rows run in two blocks on two cores where that pays (`handgrad.fast.pair.both`:
    the exp and log1p of every element are a step's costliest elementwise work); each
    row is computed by the same kernel either way, so the numbers are the same to the bit.
    """
    m = logits.shape[0]
    if m < 2 or logits.size < pair.SPLIT_MIN or not pair.enabled():
        bernoulli_nll_rows(logits, b, x, g, rows)
    else:
        h = m // 2
        pair.both(
            bernoulli_nll_rows, (logits[h:], b, x[h:], g, rows[h:]),
            bernoulli_nll_rows, (logits[:h], b, x[:h], g, rows[:h]),
        )  # fmt: skip
    add_column_sums(logits, bgrad)


def _example(rng, dtype):
    logits, b = randn(rng, dtype, 5, 11, scale=8.0), randn(rng, dtype, 11)
    x = rng.random((5, 11)).astype(dtype)
    x[0] = 1.0
    return logits, b, x, 0.25


def _formula(logits, b, x, g):
    nll = BernoulliNLL()
    rows = nll.forward(x, logits + b)
    dl = nll.backward(g)
    return {"rows": rows, "dlogits": dl, "bgrad": dl.sum(axis=0)}


def _run(logits, b, x, g):
    dtype = logits.dtype.type
    logits, rows, bgrad = logits.copy(), np.empty(x.shape[0], dtype), np.zeros_like(b)
    bernoulli_nll(logits, b, x, dtype(g), rows, bgrad)
    return {"rows": rows, "dlogits": logits, "bgrad": bgrad}


KERNELS = (
    Kernel(
        (bernoulli_nll_rows, add_column_sums),
        "Linear's bias, BernoulliNLL.forward per example and BernoulliNLL.backward",
        _example,
        _formula,
        _run,
    ),
)
