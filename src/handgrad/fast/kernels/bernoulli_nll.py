"""The VAE's Bernoulli decoder output: Linear's bias, `BernoulliNLL` per example, its
gradient and the bias gradient, in one pass over the logits."""

from __future__ import annotations

import numpy as np

from handgrad.fast import pair
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.vae_losses import BernoulliNLL

# log(1 + e)/e on [0, 1]: the Chebyshev fit of degree 11, in powers of e (relative error
# of e · q(e) below 1.3e-10 on [0, 1]); the coefficients, lowest power first.
_LOG1P = (0.9999999998842429, -0.4999999655434888, 0.3333316237651968, -0.24996646583860088,
          0.19965568137599954, -0.1645410833999951, 0.13430125214891392, -0.10131047367835877,
          0.06408779248352502, -0.030232016467680284, 0.009105979136576216,
          -0.0012851433902688059)  # fmt: skip


@jit
def _exp_neg(a):
    """e^{−a} for 0 ≤ a ≤ 104 (beyond, e^{−a} is below float32's range) in float64:
    (e^{−a/128})^128, the inner exponential by its Taylor series to y^13 (|y| ≤ 0.82), to
    2e-10 relative (the squarings' rounding; measured on [0, 104]). Only arithmetic, no
    branch: the loops calling it vectorise (libm's expf does not)."""
    y = -a * 0.0078125
    p = 1.0 / 6227020800.0
    for c in (1 / 479001600, 1 / 39916800, 1 / 3628800, 1 / 362880, 1 / 40320, 1 / 5040,
              1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1.0, 1.0):  # fmt: skip
        p = p * y + c
    for _ in range(7):
        p = p * p
    return p


@jit
def _log1p01(e):
    """log(1 + e) for e in [0, 1] in float64, to 1.3e-10 relative: e · q(e) (`_LOG1P`)."""
    q = _LOG1P[11]
    for c in (_LOG1P[10], _LOG1P[9], _LOG1P[8], _LOG1P[7], _LOG1P[6], _LOG1P[5],
              _LOG1P[4], _LOG1P[3], _LOG1P[2], _LOG1P[1], _LOG1P[0]):  # fmt: skip
        q = q * e + c
    return e * q


@jit
def bernoulli_nll_rows(logits, b, x, g, rows, fast):
    """Bernoulli negative log-likelihood from logits and its gradient, row by row.

    With l ← logits + b (the decoder's last bias): rows_i = Σ_d softplus(l_id) − x_id l_id
    (`BernoulliNLL.forward`, softplus(l) = max(l, 0) + log1p(e^{−|l|}), summed in
    float64); logits ← g (sigmoid(l) − x) in place (`BernoulliNLL.backward(g)`), with
    sigmoid(l) from the same e^{−|l|}: 1/(1 + e) for l ≥ 0, e/(1 + e) below. Any block
    of rows gives the same numbers for its rows. logits, x (m, D); b (D,); rows (m,).

    ``fast`` (pass it for float32): e^{−|l|}, log1p and the sigmoid in float64 by
    `_exp_neg` and `_log1p01`, rounded once (vectorised: about 3× faster than libm's
    expf and log1pf here, and within a float32 rounding of them), and each row's terms
    summed in four interleaved float64 partial sums; else NumPy's (libm), as float64 needs.
    """
    m, n = logits.shape
    t = logits.dtype.type
    one, zero = t(1), t(0)
    term = np.empty(n)
    for i in range(m):
        if fast:
            for j in range(n):
                lij = np.float64(logits[i, j] + b[j])
                e = _exp_neg(np.abs(lij))
                term[j] = (lij if lij > 0.0 else 0.0) + _log1p01(e) - np.float64(x[i, j]) * lij
                p = (1.0 if lij >= 0.0 else e) / (1.0 + e)
                logits[i, j] = g * (t(p) - x[i, j])
            r0, r1, r2, r3 = 0.0, 0.0, 0.0, 0.0
            k = n - n % 4
            for j in range(0, k, 4):
                r0 += term[j]
                r1 += term[j + 1]
                r2 += term[j + 2]
                r3 += term[j + 3]
            for j in range(k, n):
                r0 += term[j]
            rows[i] = (r0 + r1) + (r2 + r3)
        else:
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
    m, fast = logits.shape[0], logits.dtype == np.float32
    if m < 2 or logits.size < pair.SPLIT_MIN or not pair.enabled():
        bernoulli_nll_rows(logits, b, x, g, rows, fast)
    else:
        h = m // 2
        pair.both(
            bernoulli_nll_rows, (logits[h:], b, x[h:], g, rows[h:], fast),
            bernoulli_nll_rows, (logits[:h], b, x[:h], g, rows[:h], fast),
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


HELPERS = (_exp_neg, _log1p01)
"""Compiled functions called by the kernels above, not formulas of their own."""

KERNELS = (
    Kernel(
        (bernoulli_nll_rows, add_column_sums),
        "Linear's bias, BernoulliNLL.forward per example and BernoulliNLL.backward",
        _example,
        _formula,
        _run,
    ),
)
