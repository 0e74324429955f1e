"""Fully connected layer ``y = x θᵀ + b`` with θ stored as (out, in), as in the derivation."""

from __future__ import annotations

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.init import INITS, RngLike, as_rng
from handgrad.nn.module import Module, Parameter, check_grad, check_input


class Linear(Module):
    """Affine map of a batch of rows.

    Shapes: x (m, in) → y (m, out); weight θ (out, in); bias b (out,).
    ``init`` is "uniform" (PyTorch's default, U(±1/√in)), "he" or "xavier";
    the bias always starts U(±1/√in), like PyTorch.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: RngLike = None,
        dtype: np.dtype | type = np.float32,
        init: str = "uniform",
    ):
        if in_features < 1 or out_features < 1:
            raise HandgradError(
                f"Linear needs positive sizes, got in={in_features}, out={out_features}"
            )
        if init not in INITS:
            raise HandgradError(f"unknown init {init!r}; choose one of {sorted(INITS)}")
        rng = as_rng(rng)
        dtype = np.dtype(dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(INITS[init](rng, (out_features, in_features), in_features, dtype))
        self.bias = (
            Parameter(INITS["uniform"](rng, (out_features,), in_features, dtype)) if bias else None
        )
        self._x: np.ndarray | None = None
        # Set False on a first layer fed with data: backward then skips dx = dy θ.
        self.needs_input_grad = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = x θᵀ + b."""
        w = self.weight.data
        if (
            x.__class__ is not np.ndarray
            or x.ndim != 2
            or x.shape[1] != w.shape[1]
            or (x.dtype != w.dtype)
        ):  # the full check (and its message) only off the hot path
            check_input(self, x, 2, self.in_features, w.dtype)
        self._x = x
        y = x @ w.T
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        """dx = dy θ;  dθ += dyᵀ x;  db += Σ_rows dy.  Returns None if not needs_input_grad.

        Shapes: dy (m, out) → dx (m, in).
        """
        x = self._x
        if (
            x is None
            or dy.__class__ is not np.ndarray
            or dy.shape != (x.shape[0], self.out_features)
        ):
            check_grad(self, dy, None if x is None else (x.shape[0], self.out_features))
        self.weight.add_matmul(dy.T, x)
        if self.bias is not None:
            self.bias.add_sum(dy, axis=0)
        if not self.needs_input_grad:
            return None
        return dy @ self.weight.data

    def __repr__(self) -> str:
        b = "" if self.bias is not None else ", bias=False"
        return f"Linear({self.in_features}→{self.out_features}{b})"
