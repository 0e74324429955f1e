"""Check the multi-task network's hand-written backward against finite differences.

`sample_problem` draws a random float64 batch (x, yA, one-hot yB, an optional fixed dropout
mask) for a freshly initialised `MultiTaskNet`, resampling until no BN* pre-activation
lies within ``kink_margin`` of 0, where ReLU has a kink and a finite difference straddling
it would be meaningless. `check_network` compares ∂L/∂x and all eight parameter
gradients of `MultiTaskNet.backward` with central differences of `MultiTaskNet.loss`,
over several shapes (m = 1 included, where BN* makes ∂L/∂θ1B exactly 0) with and without
a dropout mask, one `GradReport` per case.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handgrad.errors import HandgradError
from handgrad.gradcheck import GradReport, compare, numeric_gradient
from handgrad.models.multitask import MultiTaskNet

# (m, n, h, a, b): batch, inputs, task-A hidden, task-A outputs (= FC1B width), classes.
DEFAULT_SHAPES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 4, 2, 3),
    (2, 4, 5, 3, 4),
    (3, 2, 3, 4, 2),
    (6, 5, 4, 3, 5),
)
DEFAULT_DROPOUT = (0.0, 0.5)


@dataclass
class Problem:
    """A network and one batch to evaluate it on (float64)."""

    net: MultiTaskNet
    x: np.ndarray
    yA: np.ndarray
    yB: np.ndarray
    mask: np.ndarray | None

    def loss(self) -> float:
        """L for this batch, training mode, with the batch's fixed mask."""
        return self.net.loss(self.x, self.yA, self.yB, self.mask)

    @property
    def label(self) -> str:
        m, n = self.x.shape
        net = self.net
        drop = f"mask p={net.p:g}" if self.mask is not None else "no dropout"
        return f"m={m} n={n} h={net.n_hidden} a={net.n_out_a} b={net.n_classes} {drop}"


def sample_problem(
    m: int,
    n: int,
    h: int,
    a: int,
    b: int,
    p: float = 0.0,
    seed: int = 0,
    *,
    kink_margin: float = 1e-4,
    max_tries: int = 100,
) -> Problem:
    """A seeded random `Problem`; with p > 0 a fixed mask (entries 0 or 1/(1 − p)) is drawn.

    x ~ N(0, 1) (m, n); yA ~ N(0, 1) (m, a); yB one-hot of uniform labels (m, b). Redraws
    (net and batch) until min |xBN| > kink_margin, or raises `HandgradError`.
    """
    if min(m, n, h, a, b) < 1:
        raise HandgradError(f"shape sizes must be ≥ 1, got m={m} n={n} h={h} a={a} b={b}")
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        net = MultiTaskNet(n, h, a, b, p=p, seed=int(rng.integers(2**31)), dtype=np.float64)
        x = rng.standard_normal((m, n))
        yA = rng.standard_normal((m, a))
        yB = np.eye(b)[rng.integers(0, b, size=m)]
        mask = None
        if p > 0:
            mask = (rng.random((m, h)) >= p) / (1.0 - p)
        net.forward(x, mask, training=True)
        xBN = net.residuals.xBN
        if np.abs(xBN).min() > kink_margin:
            return Problem(net, x, yA, yB, mask)
    raise HandgradError(
        f"could not draw a batch away from the ReLU kink in {max_tries} tries; "
        "use a smaller kink_margin"
    )


def check_problem(problem: Problem, *, eps: float = 1e-5, rtol: float = 1e-6) -> GradReport:
    """∂L/∂x and the eight parameter gradients of the backward vs central differences."""
    net = problem.net
    problem.loss()
    net.zero_grad()
    dx = net.loss_backward()
    report = GradReport(problem.label)
    report.checks.append(compare("x", dx, numeric_gradient(problem.loss, problem.x, eps), rtol))
    for name, param in net.params.items():
        analytic = param.grad.copy()
        numeric = numeric_gradient(problem.loss, param.data, eps)
        report.checks.append(compare(name, analytic, numeric, rtol))
    return report


def check_network(
    shapes: tuple[tuple[int, int, int, int, int], ...] = DEFAULT_SHAPES,
    dropout: tuple[float, ...] = DEFAULT_DROPOUT,
    *,
    seed: int = 0,
    eps: float = 1e-5,
    rtol: float = 1e-6,
) -> list[GradReport]:
    """One `GradReport` per (shape, dropout p): p = 0 runs unmasked, p > 0 with a fixed mask."""
    return [
        check_problem(sample_problem(*shape, p=p, seed=seed + i), eps=eps, rtol=rtol)
        for i, (shape, p) in enumerate((s, p) for s in shapes for p in dropout)
    ]
