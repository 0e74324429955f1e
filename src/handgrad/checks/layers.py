"""The catalogue of layer gradient checks behind ``handgrad check layers``.

Every layer and loss of `handgrad.nn` appears here as a case: how to build a float64
instance (in train or eval mode), what inputs to feed it, and at which batch sizes
(m = 1 included). `layer_reports` runs `handgrad.gradcheck` on every case and
returns one `GradReport` per (case, batch size).

Inputs are chosen where the layer is differentiable: ReLU inputs stay at least 0.1
away from its kink at 0, so a central difference never straddles it. Layers with
parameters get random (not identity) values for them, so a backward that ignored γ
or a bias would show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad import nn
from handgrad.errors import HandgradError
from handgrad.gradcheck import GradReport, check_loss, check_module
from handgrad.nn.losses import Loss
from handgrad.nn.module import Module

BATCH_SIZES: tuple[int, ...] = (1, 3, 6)
"""The batch sizes every case is checked at."""

Sampler = Callable[[np.random.Generator, tuple[int, ...], np.dtype], np.ndarray]


def normal_input(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """x ~ N(0, 1)."""
    return rng.standard_normal(shape).astype(dtype)


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """x = ±u with u ~ U(0.1, 2): never within 0.1 of ReLU's kink."""
    sign = rng.choice(np.array([-1.0, 1.0]), size=shape)
    return (sign * rng.uniform(0.1, 2.0, size=shape)).astype(dtype)


def integer_labels(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """(m,) labels in [0, k) for logits of shape (m, k)."""
    m, k = shape
    return rng.integers(0, k, size=m)


def probability_rows(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype
) -> np.ndarray:
    """(m, k) soft targets: rows of positive entries summing to 1."""
    w = rng.uniform(0.1, 1.0, size=shape)
    return (w / w.sum(axis=1, keepdims=True)).astype(dtype)


def _randomize(module: Module, rng: np.random.Generator) -> Module:
    """Give every parameter and running statistic of ``module`` random values."""
    for p in module.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, size=p.shape) * rng.choice([-1.0, 1.0], size=p.shape)
    for m in module.modules():
        for name, buf in m.buffers().items():
            low = 0.5 if name == "running_var" else -1.0
            buf[...] = rng.uniform(low, 1.5, size=buf.shape)
    return module


def _linear(bias: bool) -> Callable[[np.dtype, np.random.Generator], Module]:
    return lambda dtype, rng: nn.Linear(4, 3, bias=bias, rng=rng, dtype=dtype)


def _stack(dtype: np.dtype, rng: np.random.Generator) -> Module:
    # Tanh sits before the batch norm: a Linear bias feeding BatchNorm1d directly has a
    # gradient that is exactly 0 by structure, which finite differences only resolve to
    # their round-off (≈ 1e-11), so no relative tolerance could judge it.
    return nn.Sequential(
        nn.Linear(4, 5, rng=rng, dtype=dtype),
        nn.Tanh(),
        nn.BatchNorm1d(5, dtype=dtype),
        nn.Dropout(0.25, rng=rng),
        nn.Linear(5, 3, rng=rng, dtype=dtype),
    )


@dataclass(frozen=True)
class LayerCase:
    """One layer to check: a builder ``build(dtype, rng)``, its input width and mode."""

    name: str
    build: Callable[[np.dtype, np.random.Generator], Module]
    features: int = 4
    sample: Sampler = normal_input
    train: bool = True

    def make(self, dtype: np.dtype | type, rng: np.random.Generator) -> Module:
        """A fresh instance with random parameters and statistics, in this case's mode."""
        module = _randomize(self.build(np.dtype(dtype), rng), rng)
        return module.train(self.train)

    def input(self, m: int, dtype: np.dtype | type, rng: np.random.Generator) -> np.ndarray:
        """An input batch of m rows."""
        return self.sample(rng, (m, self.features), np.dtype(dtype))


@dataclass(frozen=True)
class LossCase:
    """One loss to check: its builder, the number of columns and how to draw targets."""

    name: str
    build: Callable[[], Loss]
    target: Sampler
    classes: int = 4

    def input(self, m: int, dtype: np.dtype | type, rng: np.random.Generator) -> np.ndarray:
        """A prediction (logits) batch of shape (m, classes)."""
        return normal_input(rng, (m, self.classes), np.dtype(dtype))

    def make_target(self, m: int, dtype: np.dtype | type, rng: np.random.Generator) -> np.ndarray:
        """A target for a prediction batch of m rows."""
        return self.target(rng, (m, self.classes), np.dtype(dtype))


LAYER_CASES: tuple[LayerCase, ...] = (
    LayerCase("Linear", _linear(bias=True)),
    LayerCase("Linear (no bias)", _linear(bias=False)),
    LayerCase("ReLU", lambda dtype, rng: nn.ReLU(), sample=away_from_zero),
    LayerCase("Sigmoid", lambda dtype, rng: nn.Sigmoid()),
    LayerCase("Tanh", lambda dtype, rng: nn.Tanh()),
    LayerCase("Sin", lambda dtype, rng: nn.Sin()),
    LayerCase("Dropout (train)", lambda dtype, rng: nn.Dropout(0.3, rng=rng)),
    LayerCase("Dropout (eval)", lambda dtype, rng: nn.Dropout(0.3, rng=rng), train=False),
    LayerCase("BatchNorm1d (train)", lambda dtype, rng: nn.BatchNorm1d(4, dtype=dtype)),
    LayerCase("BatchNorm1d (eval)", lambda dtype, rng: nn.BatchNorm1d(4, dtype=dtype), train=False),
    LayerCase("MeanCenter (train)", lambda dtype, rng: nn.MeanCenter(4, dtype=dtype)),
    LayerCase("MeanCenter (eval)", lambda dtype, rng: nn.MeanCenter(4, dtype=dtype), train=False),
    LayerCase("Softmax", lambda dtype, rng: nn.Softmax()),
    LayerCase("LogSoftmax", lambda dtype, rng: nn.LogSoftmax()),
    LayerCase("Sequential", _stack),
)
"""Every layer of `handgrad.nn`, in each mode that changes its backward."""

LOSS_CASES: tuple[LossCase, ...] = (
    LossCase("SoftmaxCrossEntropy (labels)", nn.SoftmaxCrossEntropy, integer_labels),
    LossCase("SoftmaxCrossEntropy (soft)", nn.SoftmaxCrossEntropy, probability_rows),
    LossCase("MSELoss", nn.MSELoss, normal_input, classes=3),
)
"""Every loss of `handgrad.nn`, with each kind of target it takes."""


def layer_reports(rtol: float = 1e-6, seed: int = 0) -> list[GradReport]:
    """Check every case at every batch size in float64; one report per (case, m).

    Each report compares the analytic gradient of the input and of every parameter
    with central finite differences, at relative tolerance ``rtol``.
    """
    if not rtol > 0:
        raise HandgradError(f"rtol must be > 0, got {rtol}; e.g. --rtol 1e-6")
    rng = np.random.default_rng(seed)
    f64 = np.dtype(np.float64)
    reports = []
    for case in LAYER_CASES:
        for m in BATCH_SIZES:
            module = case.make(f64, rng)
            x = case.input(m, f64, rng)
            reports.append(
                check_module(module, x, rng=rng, rtol=rtol, subject=f"{case.name} m={m}")
            )
    for loss_case in LOSS_CASES:
        for m in BATCH_SIZES:
            prediction = loss_case.input(m, f64, rng)
            target = loss_case.make_target(m, f64, rng)
            reports.append(
                check_loss(
                    loss_case.build(),
                    prediction,
                    target,
                    rtol=rtol,
                    subject=f"{loss_case.name} m={m}",
                )
            )
    return reports
