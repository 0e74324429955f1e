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


_f32 = np.float32
# sin x and cos x in float32 by x = kπ/2 + r, |r| ≤ π/4: π/2 in three parts (Cody–Waite,
# Cephes' sinf): k·P1 and k·P2 are exact for |k| < 2¹³, so r is exact to ~1e-11 for
# |x| ≤ `_REDUCE_MAX`; then Cephes' minimax polynomials of sin r (to r⁷) and cos r (to r⁸).
_TWO_OVER_PI = _f32(0.6366197723675814)
_P1, _P2, _P3 = _f32(1.5703125), _f32(4.837512969970703125e-4), _f32(7.54978995489188216e-8)
_S1, _S2, _S3 = _f32(-1.6666654611e-1), _f32(8.3321608736e-3), _f32(-1.9515295891e-4)
_C1, _C2, _C3 = _f32(4.166664568298827e-2), _f32(-1.388731625493765e-3), _f32(2.443315711809948e-5)
_HALF, _ONE = _f32(0.5), _f32(1)
# Largest |x| the reduction serves: beyond it `sin_dropout` takes NumPy's sin and cos in
# float64 (a second loop over those entries).
_REDUCE_MAX = _f32(8192)


@jit
def _sincos32(x):
    """(sin x, cos x) of a float32 x, in float32, within 1e-7 of the true values for
    |x| ≤ `_REDUCE_MAX` (about one float32 rounding at 1; tests/fast/kernels). The
    quadrant's swap and signs are selects on k (an int32, as float32 converts 8 wide):
    branch-free, so the loops calling it vectorise 8 wide (libm's sin and cos do not;
    3.5× faster on a 64×256 batch than the float64 polynomials this replaced)."""
    k = np.floor(x * _TWO_OVER_PI + _HALF)
    r = ((x - k * _P1) - k * _P2) - k * _P3
    z = r * r
    s = ((_S3 * z + _S2) * z + _S1) * z * r + r
    c = ((_C3 * z + _C2) * z + _C1) * z * z - _HALF * z + _ONE
    q = np.int32(k)  # quadrant: sin x = s, c, −s, −c and cos x = c, −s, −c, s for q mod 4
    odd = (q & 1) != 0
    sin_x, cos_x = (c if odd else s), (s if odd else c)
    sin_x = -sin_x if (q & 2) != 0 else sin_x
    cos_x = -cos_x if ((q + 1) & 2) != 0 else cos_x
    return sin_x, cos_x


@jit
def sin_dropout(z, b, mask, xdp, cm, fast):
    """Task A's hidden layer of the multi-task network, forward, with what backward needs.

    With z1A = z + b and the inverted-dropout mask M (``mask``, entries 0 or 1/(1 − p):
    `handgrad.fast.kernels.dropout_mask`, the masks `handgrad.nn.Dropout` draws):
    xdp = sin(z1A) ⊙ M (xDP of the derivation) and cm = M ⊙ cos(z1A), the factor of
    ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A). z, mask, xdp, cm (m, h); b (h,).

    ``fast`` (pass it for float32): sin and cos by `_sincos32`; else NumPy's (libm), as
    float64 needs.
    """
    m, n = z.shape
    far = False
    for i in range(m):
        zi, mi, xi, ci = z[i], mask[i], xdp[i], cm[i]
        for j in range(n):
            a = zi[j] + b[j]
            if fast:
                sa, ca = _sincos32(a)
                far |= np.abs(a) > _REDUCE_MAX
            else:
                sa, ca = np.sin(a), np.cos(a)
            xi[j] = sa * mi[j]
            ci[j] = ca * mi[j]
    if far:  # rare: |z1A| beyond the reduction's range, redone with NumPy's sin and cos
        t = z.dtype.type
        for i in range(m):
            for j in range(n):
                a = z[i, j] + b[j]
                if np.abs(a) > _REDUCE_MAX:
                    wide = np.float64(a)
                    xdp[i, j] = t(np.sin(wide)) * mask[i, j]
                    cm[i, j] = t(np.cos(wide)) * mask[i, j]


P = 0.3


def _example(rng, dtype):
    z, b = randn(rng, dtype, 9, 40, scale=4.0), randn(rng, dtype, 40)
    z[0, :5] = np.array([3e5, -1e7, 9e3, 0.0, -0.0], dtype) - b[:5]  # beyond the reduction; 0
    mask = (rng.random((9, 40)) >= P).astype(dtype) * dtype(1 / (1 - P))  # as Dropout draws it
    return z, b, mask, randn(rng, dtype, 9, 40), randn(rng, dtype, 40)


def _formula(z, b, mask, dy, bgrad):
    sin, dropout, bias = Sin(), Dropout(P), Parameter(b.copy())
    bias.grad = bgrad.copy()
    xdp = dropout.forward(sin.forward(z + b), mask=mask)
    dz = sin.backward(dropout.backward(dy))
    bias.add_row_sum(dz)
    return {"xDP": xdp, "dz1A": dz, "bgrad": bias.grad}


def _run(z, b, mask, dy, bgrad):
    xdp, cm, dy, bgrad = np.empty_like(z), np.empty_like(z), dy.copy(), bgrad.copy()
    sin_dropout(z, b, mask, xdp, cm, z.dtype == np.float32)
    scale_backward_bias_grad(dy, cm, bgrad)
    return {"xDP": xdp, "dz1A": dy, "bgrad": bgrad}


HELPERS = (_sincos32,)
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
