"""Fully connected layer ``y = x θᵀ + b`` with θ stored as (out, in), as in the derivation."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.init import INITS, RngLike, as_rng
from handgrad.nn.module import Module, Parameter, check_grad, check_input


class LinearResiduals(NamedTuple):
    """What `Linear.backward` needs: the input x (m, in)."""

    x: np.ndarray


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

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = x θᵀ + b.  Saves x."""
        check_input(self, x, 2, self.in_features, self.weight.data.dtype)
        self.residuals = LinearResiduals(x)
        y = x @ self.weight.data.T
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """dθ += dyᵀ x;  db += Σ_i dy_i;  dx = dy θ (None if not ``input_grad``).

        Shapes: dy (m, out), x (m, in) → dθ (out, in), db (out,), dx (m, in).
        """
        r = self.residuals
        check_grad(self, dy, None if r is None else (r.x.shape[0], self.out_features))
        x = r.x
        self.weight.add_product(dy.T, x)
        if self.bias is not None:
            self.bias.add_row_sum(dy)
        return dy @ self.weight.data if input_grad else None

    def __repr__(self) -> str:
        b = "" if self.bias is not None else ", bias=False"
        return f"Linear({self.in_features}→{self.out_features}{b})"
