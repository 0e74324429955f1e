"""Task A's hidden layer of the multi-task network: Linear's bias, sin and inverted
dropout forward (keeping M ⊙ cos(z1A) for backward), and its backward with the bias
gradient (report 000 §2.2: ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A))."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.activations import Sin
from handgrad.nn.dropout import Dropout
from handgrad.nn.module import Parameter


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

    With z1A = z + b and the inverted-dropout mask M = keep_scale · 1[u ≥ p] (u the
    float64 uniforms `handgrad.nn.Dropout` draws, so the same masks):
    xdp = sin(z1A) ⊙ M (xDP of the derivation) and cm = M ⊙ cos(z1A), the factor of
    ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A). z, u, xdp, cm (m, h); b (h,).

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


P = 0.3


def _example(rng, dtype):
    z, b = randn(rng, dtype, 9, 40, scale=4.0), randn(rng, dtype, 40)
    z[0, :4] = np.array([3e5, -1e7, 0.0, -0.0], dtype) - b[:4]  # beyond the reduction; zeros
    return z, b, rng.random((9, 40)), randn(rng, dtype, 9, 40), randn(rng, dtype, 40)


def _formula(z, b, u, dy, bgrad):
    t = z.dtype.type
    mask = (u >= P).astype(z.dtype) * t(1 / (1 - P))  # as Dropout draws it from u
    sin, dropout, bias = Sin(), Dropout(P), Parameter(b.copy())
    bias.grad = bgrad.copy()
    xdp = dropout.forward(sin.forward(z + b), mask=mask)
    dz = sin.backward(dropout.backward(dy))
    bias.add_row_sum(dz)
    return {"xDP": xdp, "dz1A": dz, "bgrad": bias.grad}


def _run(z, b, u, dy, bgrad):
    t = z.dtype.type
    xdp, cm, dy, bgrad = np.empty_like(z), np.empty_like(z), dy.copy(), bgrad.copy()
    sin_dropout(z, b, u, P, t(1 / (1 - P)), xdp, cm, z.dtype == np.float32)
    scale_backward_bias_grad(dy, cm, bgrad)
    return {"xDP": xdp, "dz1A": dy, "bgrad": bgrad}


HELPERS = (_sincos,)
"""Compiled functions called by the kernels above, not formulas of their own."""

KERNELS = (
    Kernel(
        (sin_dropout, scale_backward_bias_grad),
        "Linear's bias, Sin and Dropout forward, and their backward with the bias gradient",
        _example,
        _formula,
        _run,
    ),
)
