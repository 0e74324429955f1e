"""Fast versions of `handgrad.nn` layers for the training loop's hot path.

`FastLinear` and `FastReLU` differ from `handgrad.nn.Linear` and `handgrad.nn.ReLU` only
in how they run: their checks are inlined (the full check, with its message, runs only
when the quick one fails), their residual records are made without a Python-level
constructor (`record`), and Linear's parameter gradients are written straight into
lazily zeroed arrays (`handgrad.fast.grads`). The numbers are those of the plain layers,
which tests/fast/test_layers.py proves.
"""

from __future__ import annotations

import numpy as np

from handgrad.fast.engine import FastVersion
from handgrad.fast.grads import add_matmul, add_sum
from handgrad.nn.activations import ReLU, ReLUResiduals
from handgrad.nn.linear import Linear, LinearResiduals
from handgrad.nn.module import check_grad, check_input

record = tuple.__new__
"""``record(Residuals, (a, b))`` is ``Residuals(a, b)`` for a NamedTuple, made in C (a
NamedTuple's own constructor is a Python function: a measurable cost per layer per step)."""


class FastLinear(FastVersion, Linear):
    """`handgrad.nn.Linear`: y = x θᵀ + b;  dθ += dyᵀ x;  db += Σ_i dy_i;  dx = dy θ."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        w = self.weight.data
        if (
            x.__class__ is not np.ndarray
            or x.ndim != 2
            or x.shape[1] != w.shape[1]
            or (x.dtype != w.dtype)
        ):  # the full check (and its message) only off the hot path
            check_input(self, x, 2, self.in_features, w.dtype)
        self.residuals = record(LinearResiduals, (x,))
        y = x @ w.T
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        r = self.residuals
        if (
            r is None
            or dy.__class__ is not np.ndarray
            or dy.shape != (r.x.shape[0], self.out_features)
        ):
            check_grad(self, dy, None if r is None else (r.x.shape[0], self.out_features))
        add_matmul(self.weight, dy.T, r.x)
        if self.bias is not None:
            add_sum(self.bias, dy)
        return dy @ self.weight.data if input_grad else None


class FastReLU(FastVersion, ReLU):
    """`handgrad.nn.ReLU`: y = max(x, 0);  dx = dy ⊙ 1[x > 0]."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.residuals = record(ReLUResiduals, (x > 0,))
        return np.maximum(x, x.dtype.type(0))

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        r = self.residuals
        if r is None or dy.__class__ is not np.ndarray or dy.shape != r.step.shape:
            check_grad(self, dy, r and r.step)  # the full check (and its message) off the hot path
        return dy * r.step if input_grad else None

    def __repr__(self) -> str:
        return "ReLU()"
