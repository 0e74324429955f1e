"""Adam and SGD (momentum, weight decay, Nesterov) updates in one pass per parameter.

`handgrad.optim` writes each update as a chain of NumPy passes (Adam: 12 over five
arrays); these kernels read and write each element once, doing the same operations in
the same order and precision: every scalar comes in with the arrays' dtype, so a
float32 update rounds exactly like the NumPy one. The flush of tiny optimiser state
(`handgrad.optim.flush_tiny`) runs inside the same pass on flush steps.

Arrays are flat (``reshape(-1)`` views of contiguous parameters). The kernels run on
one core: a ``prange`` version over both cores of the 2-core development machine was
6× slower than this one on the MNIST VAE's 784×400 weight (3.7 against 0.57 ms,
measured while other jobs ran), and as fast when it was quiet.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit


@jit
def _adam(data, grad, m, v, inv_scale, decay, b1, b2, eps, k, flush, tiny):
    """θ ← decay·θ − k · m / (√v + eps) after m ← b1 (m − g) + g, v ← b2 (v − g²) + g²,
    with g = inv_scale · ∇ (all as in `handgrad.optim._adam_update`); on a flush step
    m and v entries with |·| < tiny become 0 after the update."""
    for i in range(data.shape[0]):
        g = grad[i] * inv_scale
        mi = (m[i] - g) * b1 + g
        g2 = g * g
        vi = (v[i] - g2) * b2 + g2
        s = np.sqrt(vi) + eps
        data[i] = data[i] * decay - (mi / s) * k
        if flush:
            if np.abs(mi) < tiny:
                mi = 0
            if np.abs(vi) < tiny:
                vi = 0
        m[i] = mi
        v[i] = vi


@jit
def _sgd(data, grad, vel, inv_scale, lr, wd, mu, nesterov, flush, tiny):
    """g = inv_scale · ∇ + wd θ;  v ← μ v + g;  θ ← θ − lr · (v, or g + μ v with Nesterov)
    (as `handgrad.optim.SGD.step`; μ = 0: no velocity); on a flush step |v| < tiny → 0."""
    for i in range(data.shape[0]):
        g = grad[i] * inv_scale
        if wd != 0:
            g = data[i] * wd + g
        if mu != 0:
            vi = vel[i] * mu + g
            g = g + mu * vi if nesterov else vi
            if flush and np.abs(vi) < tiny:
                vi = 0
            vel[i] = vi
        data[i] = data[i] - g * lr


def adam_update(
    data: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    *,
    inv_scale: float,
    decay: float,
    b1: float,
    b2: float,
    eps: float,
    k: float,
    flush: bool,
    tiny: float,
) -> None:
    """One Adam update of a contiguous parameter in place (see `_adam`); any shape."""
    t = data.dtype.type
    _adam(
        data.reshape(-1),
        grad.reshape(-1),
        m.reshape(-1),
        v.reshape(-1),
        *(t(c) for c in (inv_scale, decay, b1, b2, eps, k)),
        flush,
        t(tiny),
    )


def sgd_update(
    data: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    *,
    inv_scale: float,
    lr: float,
    weight_decay: float,
    momentum: float,
    nesterov: bool,
    flush: bool,
    tiny: float,
) -> None:
    """One SGD update of a contiguous parameter in place (see `_sgd`); any shape.
    ``velocity`` is ignored (pass any array of the dtype) when momentum is 0."""
    t = data.dtype.type
    _sgd(
        data.reshape(-1),
        grad.reshape(-1),
        velocity.reshape(-1),
        *(t(c) for c in (inv_scale, lr, weight_decay, momentum)),
        nesterov,
        flush,
        t(tiny),
    )
