"""Multilayer perceptron classifier built from `handgrad.nn` layers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.activations import ACTIVATIONS
from handgrad.nn.batchnorm import BatchNorm1d
from handgrad.nn.dropout import Dropout
from handgrad.nn.init import as_rng
from handgrad.nn.linear import Linear
from handgrad.nn.module import Module, Sequential

MLP_ACTIVATIONS = ("relu", "sigmoid", "tanh")


class MLP(Sequential):
    """sizes = (d_in, h_1, …, h_k, d_out): Linear → [BatchNorm1d] → activation → [Dropout]
    for every hidden layer, then a final Linear producing logits. A Linear followed by
    batch norm has no bias (β takes its place).

    Shapes: x (m, d_in) → logits (m, d_out). Train with `SoftmaxCrossEntropy`, calling
    ``backward(dlogits, input_grad=False)``: the input is data, ∂L/∂x is not needed.
    ``init`` defaults to PyTorch's U(±1/√fan_in) so results compare with PyTorch's.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        *,
        seed: int | np.random.Generator = 0,
        dtype: np.dtype | type = np.float32,
        init: str = "uniform",
    ):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise HandgradError(
                f"MLP sizes must be at least (inputs, outputs), all ≥ 1, got {sizes}"
            )
        if activation not in MLP_ACTIVATIONS:
            raise HandgradError(
                f"unknown activation {activation!r}; choose one of {', '.join(MLP_ACTIVATIONS)}"
            )
        rng = as_rng(seed)
        layers: list[Module] = []
        for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            # Batch norm subtracts the batch mean, so a bias before it would be dead weight.
            bias = last or not batchnorm
            layers.append(Linear(d_in, d_out, bias=bias, rng=rng, dtype=dtype, init=init))
            if last:
                break
            if batchnorm:
                layers.append(BatchNorm1d(d_out, dtype=dtype))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(Dropout(dropout, rng=rng))
        super().__init__(*layers)
        self.sizes = sizes

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class predictions (m,) in eval mode, computed in chunks to bound memory."""
        with self.mode(training=False):
            return np.concatenate(
                [
                    self.forward(x[i : i + batch_size]).argmax(axis=1)
                    for i in range(0, x.shape[0], batch_size)
                ]
            )
