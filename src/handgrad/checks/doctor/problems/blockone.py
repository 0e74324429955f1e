"""Block One of the assignment: batch norm, dropout, softmax, softmax + cross-entropy.

Each layer is checked as in the derivation, with a fixed random upstream gradient dy =
∂L/∂y (L = Σ y ⊙ dy) where the layer is not a loss:

- ``batchnorm``: x̂ = (x − μ_B)/√(σ_B² + ε), y = γ x̂ + β; quantities ∂L/∂β, ∂L/∂γ, ∂L/∂x̂,
  ∂L/∂x. Batches of m ≥ 2 (with one row x̂ is 0).
- ``dropout``: y = x ⊙ M, M = 1[r ≥ p]/(1 − p); quantity ∂L/∂x.
- ``softmax``: y = softmax(z) per row; quantities ∂L/∂z and the Jacobian J[i, k] = ∂y_i/∂z_k
  of each row, shape (m, n, n).
- ``softmax_ce``: p = softmax(z), L = −(1/m) Σ_i Σ_k y_ik log p_ik; quantities ∂L/∂p, ∂L/∂z.
"""

from __future__ import annotations

import numpy as np

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Problem, Step

D = 4  # features
N = 5  # classes / softmax width
P = 0.3  # not 0.5: then 1/(1 − p) = 2 and an unscaled mask would equal a factor ½


def _bn_sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    return {
        "x": rng.standard_normal((m, D)) * 2 + 1,
        "gamma": rng.standard_normal(D),
        "beta": rng.standard_normal(D),
        "dy": rng.standard_normal((m, D)),
    }


def _bn_extras(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mu = v["x"].mean(axis=0)
    var = ((v["x"] - mu) ** 2).mean(axis=0)
    return {"mu": mu, "var": var, "sigma": np.sqrt(var + ops.BN_EPS)}


BATCHNORM = Problem(
    "batchnorm",
    "Block One (i): batch normalisation y = γ x̂ + β",
    (
        Step("xhat", ops.batchnorm, ("x",)),
        Step("y", ops.scale_shift, ("xhat", "gamma", "beta")),
        Step("L", ops.upstream, ("y", "dy")),
    ),
    ("beta", "gamma", "xhat", "x"),
    {"gamma": "γ", "beta": "β", "xhat": "x̂", "mu": "μ_B", "sigma": "σ_B", "var": "σ_B²"},
    _bn_sample,
    batch_sizes=(2, 3, 5, 8),
    constants={"eps": ops.BN_EPS},
    extras=_bn_extras,
    about="q: x, dy, y (m, d); xhat (m, d); gamma, beta, mu, var, sigma = √(var + eps) (d,); "
    "eps, m. L = Σ y ⊙ dy, so ∂L/∂y = dy.",
)


def _dropout_sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    r = rng.random((m, D))
    return {
        "x": rng.standard_normal((m, D)),
        "r": r,
        "dy": rng.standard_normal((m, D)),
    }


DROPOUT = Problem(
    "dropout",
    "Block One (ii): inverted dropout y = x ⊙ M",
    (Step("y", ops.dropout(P), ("x", "r")), Step("L", ops.upstream, ("y", "dy"))),
    ("x",),
    {},
    _dropout_sample,
    constants={"p": P},
    extras=lambda v: {"M": (v["r"] >= P) / (1 - P)},
    about="q: x, r (uniform draws), M = 1[r ≥ p]/(1 − p), y, dy (m, d); p, m. "
    "L = Σ y ⊙ dy, so ∂L/∂y = dy.",
)


def _softmax_sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    return {"z": rng.standard_normal((m, N)), "dy": rng.standard_normal((m, N))}


SOFTMAX = Problem(
    "softmax",
    "Block One (iii): the softmax y = softmax(z), its Jacobian and ∂L/∂z",
    (Step("y", ops.softmax, ("z",)), Step("L", ops.upstream, ("y", "dy"))),
    ("z", "J"),
    {},
    _softmax_sample,
    jacobians={"J": ("y", "z")},
    about="q: z, y = softmax(z), dy (m, n); m. grad_J(q) returns the Jacobian of each row, "
    "J[b, i, k] = ∂y_bi/∂z_bk, shape (m, n, n); grad_z(q) returns ∂L/∂z for L = Σ y ⊙ dy.",
)


def _ce_sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    return {"z": rng.standard_normal((m, N)), "y": np.eye(N)[rng.integers(0, N, size=m)]}


SOFTMAX_CE = Problem(
    "softmax_ce",
    "Block One: softmax followed by the cross-entropy loss",
    (Step("p", ops.softmax, ("z",)), Step("L", ops.cross_entropy, ("p", "y"))),
    ("p", "z"),
    {"p": "ŷ"},
    _ce_sample,
    about="q: z, p = softmax(z), y one-hot (m, n); m. L = −(1/m) Σ_i Σ_k y_ik log p_ik.",
)
