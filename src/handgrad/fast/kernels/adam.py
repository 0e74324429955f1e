"""`handgrad.optim.Adam`'s step (with AdamW's decay and the flush of tiny state) in one
pass per parameter: the same operations in the same order, so the same numbers bit for
bit."""

from __future__ import annotations

import numpy as np

from handgrad.fast import pair
from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.module import Parameter
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


def steps(update, dtype, grad_scale: float, **settings) -> dict[str, np.ndarray]:
    """Parameters and state after `FLUSH_EVERY` + 2 steps of Adam (``update(opt, s)``)
    on fixed random gradients of s · L, whose first rows are 0 (state that decays
    towards the flush). Shared by the optimiser kernels' examples."""
    rng = np.random.default_rng(5)
    ps = [Parameter(randn(rng, dtype, *s)) for s in [(6, 5), (5,)]]
    opt = settings.pop("optimizer")(ps, **settings)
    for _ in range(FLUSH_EVERY + 2):
        for p in ps:
            p.grad = randn(rng, dtype, *p.shape, scale=grad_scale)
            p.grad[0] = 0
        update(opt, grad_scale)
    return {**{f"θ{i}": p.data for i, p in enumerate(ps)}, **opt.state_dict()}


def _example(rng, dtype):
    return (dtype,)


def _both_settings(update, dtype):
    """`steps` without and with AdamW's decay and other betas, gradients of L and 4 L."""
    return {
        f"{name} ({settings}, scale {scale})": value
        for settings in ({}, {"weight_decay": 0.1, "betas": (0.8, 0.99)})
        for scale in (1.0, 4.0)
        for name, value in steps(update, dtype, scale, optimizer=Adam, lr=1e-2, **settings).items()
    }


def _formula(dtype):
    return _both_settings(Adam.step, dtype)


def _run(dtype):
    return _both_settings(adam_step, dtype)


KERNELS = (Kernel((_adam,), "Adam.step", _example, _formula, _run, exact=True),)
