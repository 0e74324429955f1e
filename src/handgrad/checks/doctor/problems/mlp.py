"""The MLP classifier's backward: a hidden ReLU layer, a softmax output, cross-entropy.

    z1 = x W1ᵀ + b1;  h1 = ReLU(z1);  z2 = h1 W2ᵀ + b2;  ŷ = softmax(z2)
    L = −(1/m) Σ_i Σ_k y_ik log ŷ_ik

Sizes: n = 6 inputs, h = 5 hidden units, c = 4 classes. Quantities, backward: ∂L/∂z2,
∂L/∂b2, ∂L/∂W2, ∂L/∂h1, ∂L/∂z1, ∂L/∂b1, ∂L/∂W1 (weights stored (out, in)).
"""

from __future__ import annotations

import numpy as np

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Problem, Step

N, H, C = 6, 5, 4


def sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    return {
        "x": rng.standard_normal((m, N)),
        "y": np.eye(C)[rng.integers(0, C, size=m)],
        "W1": rng.standard_normal((H, N)) * 0.6,
        "b1": rng.standard_normal(H) * 0.5,
        "W2": rng.standard_normal((C, H)) * 0.6,
        "b2": rng.standard_normal(C) * 0.5,
    }


PROBLEM = Problem(
    "mlp",
    "the MLP classifier: linear, ReLU, linear, softmax, cross-entropy",
    (
        Step("z1", ops.linear, ("x", "W1", "b1")),
        Step("h1", ops.relu, ("z1",)),
        Step("z2", ops.linear, ("h1", "W2", "b2")),
        Step("yhat", ops.softmax, ("z2",)),
        Step("L", ops.cross_entropy, ("yhat", "y")),
    ),
    ("z2", "b2", "W2", "h1", "z1", "b1", "W1"),
    {"yhat": "ŷ"},
    sample,
    about="q: x (m, n); y one-hot, z2, yhat (m, c); z1, h1 (m, h); W1 (h, n), b1 (h,), "
    "W2 (c, h), b2 (c,); m.",
)
