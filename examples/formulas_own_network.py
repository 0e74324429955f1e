"""Your own network: a forward pass as named steps, a loss, and your formulas.

Check with ``handgrad check formulas examples/formulas_own_network.py``. The truth comes
from autograd of STEPS (cross-checked by finite differences), never from the formulas.
Here: a tanh layer, a sigmoid output and the binary cross-entropy, with one slip left in
on purpose (∂L/∂z1 uses tanh′ = 1 − z1² instead of 1 − h1²), which the doctor names.
"""

import autograd.numpy as np  # the steps must be differentiable by autograd

INPUTS = {"x": ("m", 3), "y": ("m", 2, "binary")}
PARAMS = {"W1": (4, 3), "b1": (4,), "W2": (2, 4), "b2": (2,)}
STEPS = {
    "z1": lambda x, W1, b1: x @ W1.T + b1,
    "h1": lambda z1: np.tanh(z1),
    "z2": lambda h1, W2, b2: h1 @ W2.T + b2,
    "p": lambda z2: 1 / (1 + np.exp(-z2)),
    "L": lambda p, y: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) / p.shape[0],
}


def grad_z2(q):
    return (q.p - q.y) / q.m


def grad_W2(q):
    return grad_z2(q).T @ q.h1


def grad_b2(q):
    return grad_z2(q).sum(axis=0)


def grad_h1(q):
    return grad_z2(q) @ q.W2


def grad_z1(q):
    return grad_h1(q) * (1 - q.z1**2)  # the slip: tanh′(z1) = 1 − h1², not 1 − z1²


def grad_W1(q):
    return grad_z1(q).T @ q.x
