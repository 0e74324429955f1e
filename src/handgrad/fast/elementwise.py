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


@jit
def scale_backward_bias_grad(dh, factor, bgrad):
    """dh ← dh ⊙ factor in place (an elementwise layer's backward, factor its derivative
    saved by the forward pass) and bgrad += Σ_rows dh. dh, factor (m, n); bgrad (n,)."""
    m, n = dh.shape
    acc = np.zeros(n)
    for i in range(m):
        for j in range(n):
            d = dh[i, j] * factor[i, j]
            dh[i, j] = d
            acc[j] += d
    for j in range(n):
        bgrad[j] += acc[j]


# Taylor coefficients of sin r / r and cos r in r², to r¹³ and r¹⁴: on |r| ≤ π/4 the
# first term left out is below 3e-14, so the float64 result rounds to float32 exactly
# almost always and is within one float32 rounding always.
_SIN = (1.0, -1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800, 1 / 6227020800)
_COS = (1.0, -1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800, 1 / 479001600, -1 / 87178291200)
_TWO_OVER_PI, _HALF_PI = 0.6366197723675814, 1.5707963267948966
# Largest |x| whose reduction x − kπ/2 (π/2 in one float64) stays exact enough: beyond
# it `sin_dropout` takes NumPy's sin and cos (a second loop over those entries).
_REDUCE_MAX = 1e5


@jit
def _sincos(x):
    """(sin x, cos x) in float64 by x = kπ/2 + r, |r| ≤ π/4, and the Taylor series of
    sin r and cos r, the quadrant's swap and signs by selects: branch-free, so the loops
    calling it vectorise (libm's sin and cos do not; 11× faster on a 64×256 float32
    batch). Accurate to ~1e-13 absolute for |x| ≤ `_REDUCE_MAX`."""
    k = np.floor(x * _TWO_OVER_PI + 0.5)
    r = x - k * _HALF_PI
    r2 = r * r
    s = _SIN[6]
    for c in (_SIN[5], _SIN[4], _SIN[3], _SIN[2], _SIN[1], _SIN[0]):
        s = s * r2 + c
    s *= r
    co = _COS[7]
    for c in (_COS[6], _COS[5], _COS[4], _COS[3], _COS[2], _COS[1], _COS[0]):
        co = co * r2 + c
    q = np.int64(k)  # quadrant: sin x = s, c, −s, −c and cos x = c, −s, −c, s for q mod 4
    odd = (q & 1) == 1
    sin_x, cos_x = (co if odd else s), (s if odd else co)
    sin_x = -sin_x if (q & 2) == 2 else sin_x
    cos_x = -cos_x if ((q + 1) & 2) == 2 else cos_x
    return sin_x, cos_x


@jit
def sin_dropout(z, b, u, p, keep_scale, xdp, cm, fast):
    """Task A's hidden layer of the multi-task network, forward, with what backward needs.

    With z1A = z + b and the inverted-dropout mask M = keep_scale · 1[u ≥ p] (u uniform
    draws): xdp = sin(z1A) ⊙ M (xDP of the derivation) and cm = M ⊙ cos(z1A), the factor
    of ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A). z, u, xdp, cm (m, h); b (h,).

    ``fast`` (pass it for float32): sin and cos by `_sincos` in float64, rounded once;
    else NumPy's (libm), as float64 needs.
    """
    m, n = z.shape
    t = z.dtype.type
    zero = t(0)
    far = 0
    for i in range(m):
        zi, ui, xi, ci = z[i], u[i], xdp[i], cm[i]
        for j in range(n):
            a = zi[j] + b[j]
            mask = keep_scale if ui[j] >= p else zero
            if fast:
                sa, ca = _sincos(np.float64(a))
                far += np.abs(a) > _REDUCE_MAX
            else:
                sa, ca = np.sin(a), np.cos(a)
            xi[j] = t(sa) * mask
            ci[j] = t(ca) * mask
    if far:  # rare: |z1A| beyond the reduction's range, redone with NumPy's sin and cos
        for i in range(m):
            for j in range(n):
                a = z[i, j] + b[j]
                if np.abs(a) > _REDUCE_MAX:
                    mask = keep_scale if u[i, j] >= p else zero
                    xdp[i, j] = np.sin(a) * mask
                    cm[i, j] = np.cos(a) * mask


@jit
def bn_star_forward(x1b, b1b, running, momentum, x2a, b2a, ya, ga, xplus, da):
    """Task B's batch-mean layer, the merge with task A and task A's loss, forward.

    μ = mean_batch(x1B); running ← (1 − momentum) running + momentum μ;
    x1b ← xBN = x1B − μ + b1B in place (backward's ReLU mask); x2a ← ŷA = x2A + b2A
    in place; xplus = ŷA + ReLU(xBN); da = ga (ŷA − yA) (task A's part of ∂L/∂ŷA,
    ga = dL/m). Returns Σ_i ‖ŷA_i − yA_i‖² (L_A = ½ of it / m).
    x1b, x2a, ya, xplus, da (m, a); b1b, b2a, running (a,).
    """
    m, n = x1b.shape
    mu = np.zeros(n)
    for i in range(m):
        for j in range(n):
            mu[j] += x1b[i, j]
    t = x1b.dtype.type
    zero, keep = t(0), t(1) - momentum
    for j in range(n):
        mu[j] /= m
        running[j] = running[j] * keep + momentum * t(mu[j])
    la = 0.0
    for i in range(m):
        for j in range(n):
            xbn = x1b[i, j] - t(mu[j]) + b1b[j]
            x1b[i, j] = xbn
            yhat = x2a[i, j] + b2a[j]
            x2a[i, j] = yhat
            xplus[i, j] = yhat + (xbn if xbn > zero else zero)
            d = yhat - ya[i, j]
            la += d * d
            da[i, j] = ga * d
    return la


@jit
def bn_star_backward(dxplus, xbn, da, dx1b, b1b_grad, b2a_grad):
    """Task B's batch-mean layer and the merge, backward (the derivation's BN* step).

    ∂L/∂xBN = ∂L/∂x⊕ ⊙ 1[xBN > 0];  b1b_grad += Σ_i ∂L/∂xBN_i;
    dx1b = ∂L/∂x1B_i = ∂L/∂xBN_i − (1/m) Σ_j ∂L/∂xBN_j;
    da ← ∂L/∂ŷA = da + ∂L/∂x⊕ in place (both terms);  b2a_grad += Σ_i ∂L/∂ŷA_i.
    dxplus, xbn, da, dx1b (m, a); b1b_grad, b2a_grad (a,).
    """
    m, n = dxplus.shape
    s_bn, s_a = np.zeros(n), np.zeros(n)
    zero = dxplus.dtype.type(0)
    for i in range(m):
        for j in range(n):
            d = dxplus[i, j] if xbn[i, j] > zero else zero
            dx1b[i, j] = d
            s_bn[j] += d
            g = da[i, j] + dxplus[i, j]
            da[i, j] = g
            s_a[j] += g
    t = dxplus.dtype.type
    for i in range(m):
        for j in range(n):
            dx1b[i, j] -= t(s_bn[j] / m)
    for j in range(n):
        b1b_grad[j] += s_bn[j]
        b2a_grad[j] += s_a[j]
