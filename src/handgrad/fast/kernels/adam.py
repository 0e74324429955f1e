"""`handgrad.optim.Adam`'s step (with AdamW's decay and the flush of tiny state) in one
pass per parameter: the same operations in the same order, so the same numbers bit for
bit."""

from __future__ import annotations

import numpy as np

from handgrad.fast import pair
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, optimizer_runs
from handgrad.optim import FLUSH_EVERY, Adam, _positive, flush_threshold


@jit
def _adam(data, grad, m, v, inv_scale, decay, b1, b2, eps, k, flush, tiny):
    """θ ← decay·θ − k · m / (√v + eps) after m ← b1 (m − g) + g, v ← b2 (v − g²) + g²,
    with g = inv_scale · ∇ (as `Adam.step`); on a flush step m and v entries with
    |·| < tiny become 0 after the update. Flat arrays."""
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


def adam_step(opt: Adam, grad_scale: float = 1.0) -> None:
    """``opt.step(grad_scale)``: every parameter (contiguous) updated by `_adam`.

    A large model's update runs on two cores (`handgrad.fast.pair`): each parameter of at
    least `handgrad.fast.pair.SPLIT_MIN` elements in two halves, one per core. Every
    element is updated alone, so any split gives the same numbers to the bit.
    """
    inv = 1.0 if grad_scale == 1.0 else 1.0 / _positive("grad_scale", grad_scale)
    opt.t += 1
    decay, eps, k = opt.constants()
    flush = opt.t % FLUSH_EVERY == 0
    here: list[tuple] = []  # (data, grad, m, v, scalars…), flat, for this thread
    there: list[tuple] = []  # … for the worker thread
    split = pair.enabled() and sum(p.data.size for p in opt.params) >= pair.SPLIT_MIN
    for p, m, v in zip(opt.params, opt.m, opt.v, strict=True):
        t = p.data.dtype.type
        scalars = (*(t(c) for c in (inv, decay, opt.b1, opt.b2, eps, k)), flush,
                   t(flush_threshold(p.data.dtype)))  # fmt: skip
        arrays = (p.data.reshape(-1), p.grad.reshape(-1), m.reshape(-1), v.reshape(-1))
        n = arrays[0].shape[0]
        if split and n >= pair.SPLIT_MIN:
            there.append((*(a[: n // 2] for a in arrays), *scalars))
            here.append((*(a[n // 2 :] for a in arrays), *scalars))
        else:
            here.append((*arrays, *scalars))
    if there:
        pair.both(_adam_all, (here,), _adam_all, (there,))
    else:
        _adam_all(here)


def _adam_all(updates: list[tuple]) -> None:
    """`_adam` on each argument tuple in turn."""
    for args in updates:
        _adam(*args)


UPDATES = {Adam: adam_step}
"""The optimiser whose step this module computes, and the function that computes it."""


SETTINGS = ({}, {"weight_decay": 0.1, "betas": (0.8, 0.99)})
"""The example's settings: plain Adam, and AdamW's decay with other betas."""


def _example(rng, dtype):
    return (dtype,)


def _formula(dtype):
    return optimizer_runs(Adam.step, dtype, Adam, 1e-2, SETTINGS, (1.0, 4.0))


def _run(dtype):
    return optimizer_runs(adam_step, dtype, Adam, 1e-2, SETTINGS, (1.0, 4.0))


KERNELS = (Kernel((_adam,), "Adam.step", _example, _formula, _run, exact=True),)
