"""Linear's bias with ReLU: the hidden layers of the MLP's and the VAE's ReLU stacks.

Forward: h ← ReLU(h + b) (`handgrad.nn.Linear`'s bias add, then `handgrad.nn.ReLU`);
backward: dh ← dh ⊙ 1[h > 0] and the bias gradient of the Linear before, in one pass.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.activations import ReLU
from handgrad.nn.module import Parameter


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


def _example(rng, dtype):
    h, b, dh = randn(rng, dtype, 9, 6), randn(rng, dtype, 6), randn(rng, dtype, 9, 6)
    return h, b, dh, randn(rng, dtype, 6)


def _formula(h, b, dh, bgrad):
    relu, bias = ReLU(), Parameter(b.copy())
    bias.grad = bgrad.copy()  # a gradient accumulates onto what is there
    y = relu.forward(h + b)
    dx = relu.backward(dh)
    bias.add_row_sum(dx)
    return {"h + b": h + b, "relu": y, "dh": dx, "bgrad": bias.grad}


def _run(h, b, dh, bgrad):
    plain, out, dh, bgrad = h.copy(), h.copy(), dh.copy(), bgrad.copy()
    bias_add(plain, b)
    bias_relu(out, b)
    relu_backward_bias_grad(dh, out, bgrad)
    return {"h + b": plain, "relu": out, "dh": dh, "bgrad": bgrad}


KERNELS = (
    Kernel(
        (bias_add, bias_relu, relu_backward_bias_grad),
        "Linear's bias, ReLU.forward and ReLU.backward with the bias gradient",
        _example,
        _formula,
        _run,
    ),
)
