"""`handgrad.optim.SGD`'s step with momentum, Nesterov or weight decay (and the flush of
tiny velocity) in one pass per parameter: the same operations in the same order, so the
same numbers bit for bit. Plain SGD keeps `SGD.step`: θ ← θ − G is one pass already."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, optimizer_runs
from handgrad.optim import FLUSH_EVERY, SGD, _positive, flush_threshold


@jit
def _sgd(data, grad, vel, inv_scale, lr, wd, mu, nesterov, flush, tiny):
    """g = inv_scale · ∇ + wd θ;  v ← μ v + g;  θ ← θ − lr · (v, or g + μ v with Nesterov)
    (as `SGD.step`; μ = 0: no velocity); on a flush step |v| < tiny → 0. Flat arrays."""
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


@jit
def subtract(theta, grad):
    """θ ← θ − G, plain SGD's update of one 1-D parameter by a gradient of lr · L (a
    compiled loop's bias, whose gradient it summed apart)."""
    for j in range(theta.shape[0]):
        theta[j] -= grad[j]


HELPERS = (subtract,)
"""Compiled functions called by other modules' kernels, not formulas of their own."""


def sgd_step(opt: SGD, grad_scale: float = 1.0) -> None:
    """``opt.step(grad_scale)``: every parameter (contiguous) updated by `_sgd`."""
    if opt.plain:
        opt.step(grad_scale)
        return
    opt.t += 1
    inv = 1.0 if grad_scale == 1.0 else 1.0 / _positive("grad_scale", grad_scale)
    flush = opt.momentum > 0 and opt.t % FLUSH_EVERY == 0
    for i, p in enumerate(opt.params):
        t = p.data.dtype.type
        velocity = opt.velocity[i] if opt.momentum else p.grad  # unused when μ = 0
        _sgd(p.data.reshape(-1), p.grad.reshape(-1), velocity.reshape(-1),
             *(t(c) for c in (inv, opt.lr, opt.weight_decay, opt.momentum)), opt.nesterov,
             flush, t(flush_threshold(p.data.dtype)))  # fmt: skip


UPDATES = {SGD: sgd_step}
"""The optimiser whose step this module computes, and the function that computes it."""

SETTINGS = (  # the example's settings
    {"momentum": 0.9},
    {"momentum": 0.9, "weight_decay": 1e-2, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 1e-3},
    {"weight_decay": 1e-3},
    {},
)


def _example(rng, dtype):
    return (dtype,)


def _formula(dtype):
    return optimizer_runs(SGD.step, dtype, SGD, 0.1, SETTINGS, (1.0, 0.1))


def _run(dtype):
    return optimizer_runs(sgd_step, dtype, SGD, 0.1, SETTINGS, (1.0, 0.1))


KERNELS = (Kernel((_sgd,), "SGD.step", _example, _formula, _run, exact=True),)
