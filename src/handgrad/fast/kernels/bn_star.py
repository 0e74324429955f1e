"""Task B's batch-mean layer BN* of the multi-task network with the merge x⊕ = ŷA +
ReLU(xBN) and task A's squared error, forward and backward (report 000 §2.2)."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.activations import ReLU
from handgrad.nn.batchnorm import MeanCenter
from handgrad.nn.module import Parameter


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


MOMENTUM, GA = 0.1, 0.5


def _example(rng, dtype):
    m, a = 7, 4
    x1b, x2a, ya, dxplus = (randn(rng, dtype, m, a) for _ in range(4))
    b1b, b2a, running = (randn(rng, dtype, a) for _ in range(3))
    return x1b, b1b, running, x2a, b2a, ya, dxplus


def _formula(x1b, b1b, running, x2a, b2a, ya, dxplus):
    t, a = x1b.dtype.type, x1b.shape[1]
    bn = MeanCenter(a, MOMENTUM, dtype=x1b.dtype)
    bn.bias = Parameter(b1b.copy())
    bn.running_mean[...] = running
    relu = ReLU()
    xbn = bn.forward(x1b)
    yhat = x2a + b2a
    xplus = yhat + relu.forward(xbn)
    da = t(GA) * (yhat - ya)
    dxbn = relu.backward(dxplus)
    dx1b = bn.backward(dxbn)
    dyhat = da + dxplus
    return {
        "L_A sum": float(((yhat - ya) ** 2).sum()), "running": bn.running_mean, "x⊕": xplus,
        "dx1B": dx1b, "∂L/∂ŷA": dyhat, "b1B grad": bn.bias.grad, "b2A grad": dyhat.sum(axis=0),
    }  # fmt: skip


def _run(x1b, b1b, running, x2a, b2a, ya, dxplus):
    t = x1b.dtype.type
    x1b, x2a, running = x1b.copy(), x2a.copy(), running.copy()
    xplus, da, dx1b = (np.empty_like(x1b) for _ in range(3))
    gb1b, gb2a = np.zeros_like(b1b), np.zeros_like(b2a)
    la = bn_star_forward(x1b, b1b, running, t(MOMENTUM), x2a, b2a, ya, t(GA), xplus, da)
    bn_star_backward(dxplus, x1b, da, dx1b, gb1b, gb2a)
    return {
        "L_A sum": la, "running": running, "x⊕": xplus,
        "dx1B": dx1b, "∂L/∂ŷA": da, "b1B grad": gb1b, "b2A grad": gb2a,
    }  # fmt: skip


KERNELS = (
    Kernel(
        (bn_star_forward, bn_star_backward),
        "MeanCenter (BN*) with ReLU, the merge ŷA + ReLU(xBN) and task A's error, "
        "forward and backward",
        _example,
        _formula,
        _run,
    ),
)
