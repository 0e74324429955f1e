"""The VAE's Bernoulli decoder output: Linear's bias, `BernoulliNLL` per example, its
gradient and the bias gradient, in one pass over the logits."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.vae_losses import BernoulliNLL


@jit
def bernoulli_nll(logits, b, x, g, rows, bgrad):
    """Bernoulli negative log-likelihood from logits, its gradient and the bias gradient.

    With l ← logits + b (the decoder's last bias): rows_i = Σ_d softplus(l_id) − x_id l_id
    (`BernoulliNLL.forward`, softplus(l) = max(l, 0) + log1p(e^{−|l|})); logits ←
    g (sigmoid(l) − x) in place (`BernoulliNLL.backward(g)`); bgrad += Σ_rows of it.
    sigmoid(l) uses the same e^{−|l|}: 1/(1 + e) for l ≥ 0, e/(1 + e) below.
    logits, x (m, D); b (D,); rows (m,); bgrad (D,).
    """
    m, n = logits.shape
    acc = np.zeros(n)
    one, zero = logits.dtype.type(1), logits.dtype.type(0)
    for i in range(m):
        r = 0.0
        for j in range(n):
            lij = logits[i, j] + b[j]
            e = np.exp(-np.abs(lij))
            r += (lij if lij > zero else zero) + np.log1p(e) - x[i, j] * lij
            p = one / (one + e) if lij >= zero else e / (one + e)
            d = g * (p - x[i, j])
            logits[i, j] = d
            acc[j] += d
        rows[i] = r
    for j in range(n):
        bgrad[j] += acc[j]


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
        (bernoulli_nll,),
        "Linear's bias, BernoulliNLL.forward per example and BernoulliNLL.backward",
        _example,
        _formula,
        _run,
    ),
)
