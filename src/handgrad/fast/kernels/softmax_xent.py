"""The MLP's last layer and loss: Linear's bias, `SoftmaxCrossEntropy` with integer
labels, its gradient ∂L/∂z and the bias gradient, in one pass over the logits."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.losses import SoftmaxCrossEntropy


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


def _example(rng, dtype):
    z, b = randn(rng, dtype, 12, 7, scale=3.0), randn(rng, dtype, 7)
    z[0] = -b  # a row of equal logits: the first is the prediction, as argmax's
    return z, b, rng.integers(0, 7, 12), 0.3


def _formula(z, b, labels, dloss):
    loss_fn, logits = SoftmaxCrossEntropy(), z + b
    loss = loss_fn.forward(logits, labels)
    dz = loss_fn.backward(dloss)
    correct = np.count_nonzero(logits.argmax(axis=1) == labels)
    return {"loss": loss, "correct": correct, "dz": dz, "bgrad": dz.sum(axis=0)}


def _run(z, b, labels, dloss):
    m, dtype = z.shape[0], z.dtype.type
    z, bgrad = z.copy(), np.zeros_like(b)
    total, correct = softmax_xent(z, b, labels, dtype(dloss / m), bgrad)
    return {"loss": total / m, "correct": correct, "dz": z, "bgrad": bgrad}


KERNELS = (
    Kernel(
        (softmax_xent,),
        "Linear's bias, SoftmaxCrossEntropy.forward with labels and its backward",
        _example,
        _formula,
        _run,
    ),
)
