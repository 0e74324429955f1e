"""Accumulating into a lazily zeroed gradient without reading its zeros.

`handgrad.nn.Parameter.zero_grad` only marks a gradient as zero. The readable layers add
with ``p.grad += a @ b``, which writes the zeros and then adds a temporary to them. The
first contribution after a ``zero_grad`` can instead be written straight into the
gradient's array: one pass and no temporary. The result is the same array of numbers
(0 + v = v exactly; only a −0 may come out as +0 the plain way).
"""

from __future__ import annotations

import numpy as np

from handgrad.nn.module import Parameter


def add_matmul(p: Parameter, a: np.ndarray, b: np.ndarray) -> None:
    """p.grad += a @ b.  Shapes: a (r, k), b (k, c) → p.grad (r, c)."""
    out = p.take_zeroed_grad()
    if out is None:
        p.grad += a @ b
    else:
        np.matmul(a, b, out=out)


def add_sum(p: Parameter, a: np.ndarray) -> None:
    """p.grad += Σ_rows a.  Shapes: a (m, c) → p.grad (c,)."""
    out = p.take_zeroed_grad()
    if out is None:
        p.grad += a.sum(axis=0)
    else:
        np.add.reduce(a, axis=0, out=out)
