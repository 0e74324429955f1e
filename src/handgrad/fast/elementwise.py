"""Fused elementwise chains of the training steps: one pass where `handgrad.nn` makes several.

Each kernel computes, in one loop over a batch, what a chain of layers and losses of
`handgrad.nn` computes with one NumPy pass per operation; the docstrings give the formula
and the readable version it replaces (tests/fast prove them equal). Arrays are 2-D
(m rows, C-contiguous, e.g. the views `handgrad.train.gather_ahead` makes) and are
overwritten in place where said. Sums over a row or over the batch accumulate in float64
and in a fixed order, so a result never depends on anything but the inputs.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit


@jit
def bias_relu(h, b):
    """h ← ReLU(h + b) in place: `Linear`'s bias add then `ReLU.forward`. h (m, n), b (n,)."""
    m, n = h.shape
    zero = h.dtype.type(0)
    for i in range(m):
        for j in range(n):
            a = h[i, j] + b[j]
            h[i, j] = a if a > zero else zero


@jit
def bias_add(h, b):
    """h ← h + b in place (`Linear`'s bias). h (m, n), b (n,)."""
    m, n = h.shape
    for i in range(m):
        for j in range(n):
            h[i, j] += b[j]


@jit
def relu_backward_bias_grad(dh, h, bgrad):
    """dh ← dh ⊙ 1[h > 0] in place (`ReLU.backward`, h its output) and bgrad += Σ_rows dh
    (the bias gradient of the `Linear` before it). dh, h (m, n); bgrad (n,)."""
    m, n = dh.shape
    acc = np.zeros(n)
    zero = dh.dtype.type(0)
    for i in range(m):
        for j in range(n):
            d = dh[i, j] if h[i, j] > zero else zero
            dh[i, j] = d
            acc[j] += d
    for j in range(n):
        bgrad[j] += acc[j]


@jit
def softmax_xent(z, b, labels, scale, bgrad):
    """Softmax cross-entropy from logits with labels, its gradient and the bias gradient.

    With z ← z + b (the last `Linear`'s bias), p = softmax(z) row by row:
    returns (Σ_i −log p_i,yᵢ, number of rows whose first largest logit is at yᵢ), or
    (nan, −1 − i) at the first row i whose label is outside [0, k), leaving the rest;
    z ← scale · (p − onehot(y)) in place (`SoftmaxCrossEntropy.backward(dL)` with
    scale = dL/m); bgrad += Σ_rows of that gradient. z (m, k), b (k,), labels (m,) ints,
    bgrad (k,).
    """
    m, k = z.shape
    total, correct = 0.0, 0
    acc = np.zeros(k)
    for i in range(m):
        best = 0
        for j in range(k):
            z[i, j] += b[j]
            if z[i, j] > z[i, best]:
                best = j
        y = labels[i]
        if y < 0 or y >= k:
            return np.nan, -1 - i
        correct += best == y
        top, picked = z[i, best], z[i, y]
        s = 0.0
        for j in range(k):
            e = np.exp(z[i, j] - top)
            z[i, j] = e
            s += e
        total += np.log(s) + top - picked
        inv = 1.0 / s
        for j in range(k):
            d = z[i, j] * inv
            if j == y:
                d -= 1.0
            d *= scale
            z[i, j] = d
            acc[j] += d
    for j in range(k):
        bgrad[j] += acc[j]
    return total, correct


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


@jit
def reparameterize_kl(stats, b, eps, z, noise, var, kl):
    """The encoder's output to the latent sample and the KL term, in one pass.

    With stats ← stats + b (the encoder's last bias), μ = stats[:, :K], logσ² = stats[:, K:]:
    noise = exp(½ logσ²) ⊙ ε, z = μ + noise (`Reparameterize.forward`);
    var = exp(logσ²) and kl_i = ½ Σ_k (μ² + σ² − 1 − logσ²) (`GaussianKL.forward`).
    stats (m, 2K); b (2K,); eps, z, noise, var (m, K); kl (m,).
    """
    m, k = z.shape
    half = stats.dtype.type(0.5)
    for i in range(m):
        s = 0.0
        for j in range(k):
            mu = stats[i, j] + b[j]
            lv = stats[i, k + j] + b[k + j]
            stats[i, j], stats[i, k + j] = mu, lv
            nz = np.exp(half * lv) * eps[i, j]
            noise[i, j] = nz
            z[i, j] = mu + nz
            v = np.exp(lv)
            var[i, j] = v
            s += mu * mu + v - 1.0 - lv
        kl[i] = 0.5 * s


@jit
def reparameterize_kl_backward(dz, stats, noise, var, gk, dstats, bgrad):
    """Gradient of the encoder's output from dz and the KL term (weight gk = β dL/m).

    dstats[:, :K] = dz + gk μ  (`Reparameterize.backward` + `GaussianKL.backward`);
    dstats[:, K:] = ½ dz ⊙ noise + ½ gk (σ² − 1);  bgrad += Σ_rows dstats.
    dz, noise, var (m, K); stats, dstats (m, 2K) (stats holds μ | logσ² after
    `reparameterize_kl`); bgrad (2K,).
    """
    m, k = dz.shape
    acc = np.zeros(2 * k)
    half, one = dz.dtype.type(0.5), dz.dtype.type(1)
    for i in range(m):
        for j in range(k):
            dmu = dz[i, j] + gk * stats[i, j]
            dlv = half * dz[i, j] * noise[i, j] + (half * gk) * (var[i, j] - one)
            dstats[i, j], dstats[i, k + j] = dmu, dlv
            acc[j] += dmu
            acc[k + j] += dlv
    for j in range(2 * k):
        bgrad[j] += acc[j]
