"""The multi-task network of report 000, section 2.2: eight parameters and eight residuals.

    z1A = x θ1Aᵀ + b1A;  x1A = sin(z1A);  xDP = x1A ⊙ M  (M = 1[r ≥ p]/(1 − p))
    ŷA = x2A = xDP θ2Aᵀ + b2A
    x1B = x θ1Bᵀ;  xBN = x1B − mean_batch(x1B) + b1B;  xBN* = ReLU(xBN)
    x⊕ = x2A + xBN*;  z2B = x⊕ θ2Bᵀ + b2B;  ŷB = softmax(z2B)
    L = L_A + L_B = (1/m) Σ_i ½‖ŷA_i − yA_i‖² − (1/m) Σ_i Σ_k yB_ik log ŷB_ik

Sizes n=5 inputs, h=4 hidden, a=3 task-A outputs, b=6 classes: all different, so a
transposed weight gradient never has the right shape. ``q`` has the names of
`handgrad.models.multitask.MultiTaskForward` (x, z1A, x1A, M, xDP, x2A = yhatA, x1B, mu,
xBN, xBNs, xplus, z2B, yhatB, log_yhatB), the targets yA, yB, the uniform draws r of the
mask, the parameters, m and p.
"""

from __future__ import annotations

import numpy as np

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Problem, Step

N, H, A, B = 5, 4, 3, 6
P = 0.3  # not 0.5: then 1/(1 − p) = 2 and an unscaled mask would equal a factor ½
PARAMS = {
    "theta1A": (H, N),
    "b1A": (H,),
    "theta2A": (A, H),
    "b2A": (A,),
    "theta1B": (A, N),
    "b1B": (A,),
    "theta2B": (B, A),
    "b2B": (B,),
}


def sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
    r = rng.random((m, H))
    leaves = {k: rng.standard_normal(s) * 0.7 for k, s in PARAMS.items()}
    leaves.update(
        x=rng.standard_normal((m, N)),
        r=r,
        yA=rng.standard_normal((m, A)),
        yB=np.eye(B)[rng.integers(0, B, size=m)],
    )
    return leaves


def extras(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        "M": (v["r"] >= P) / (1 - P),
        "x2A": v["yhatA"],
        "mu": v["x1B"].mean(axis=0),
        "log_yhatB": np.log(v["yhatB"]),
    }


SYMBOLS = {
    "theta1A": "θ1A",
    "theta2A": "θ2A",
    "theta1B": "θ1B",
    "theta2B": "θ2B",
    "yhatA": "ŷA",
    "yhatB": "ŷB",
    "xplus": "x⊕",
    "xBNs": "xBN*",
}

STEPS = (
    Step("z1A", ops.linear, ("x", "theta1A", "b1A")),
    Step("x1A", ops.sin, ("z1A",)),
    Step("xDP", ops.dropout(P), ("x1A", "r")),
    Step("yhatA", ops.linear, ("xDP", "theta2A", "b2A")),
    Step("x1B", ops.matmul_t, ("x", "theta1B")),
    Step("xBN", ops.bn_star, ("x1B", "b1B")),
    Step("xBNs", ops.relu, ("xBN",)),
    Step("xplus", ops.add, ("yhatA", "xBNs")),
    Step("z2B", ops.linear, ("xplus", "theta2B", "b2B")),
    Step("yhatB", ops.softmax, ("z2B",)),
    Step("LA", ops.mse_half, ("yhatA", "yA")),
    Step("LB", ops.cross_entropy, ("yhatB", "yB")),
    Step("L", ops.add, ("LA", "LB")),
)

QUANTITIES = (
    "z2B",
    "b2B",
    "theta2B",
    "xplus",
    "xBN",
    "b1B",
    "x1B",
    "theta1B",
    "yhatA",
    "b2A",
    "theta2A",
    "xDP",
    "x1A",
    "z1A",
    "b1A",
    "theta1A",
)

NAMES = {
    "missing_term:yhatA.xplus": (
        "no_task_b_term",
        "∂L/∂ŷA lacks its task-B term: x2A also feeds x⊕, so ∂L/∂ŷA = (1/m)(ŷA − yA) + ∂L/∂x⊕",
        "add ∂L/∂x⊕ = (1/m)(ŷB − yB) θ2B to ∂L/∂ŷA",
    ),
    "missing_term:yhatA.LA": (
        "no_task_a_term",
        "∂L/∂ŷA lacks its task-A term (1/m)(ŷA − yA): ŷA feeds L_A as well as x⊕",
        "add (1/m)(ŷA − yA) to ∂L/∂ŷA",
    ),
}

PROBLEM = Problem(
    "multitask",
    "the multi-task network (report 000, section 2.2): parameters and residuals",
    STEPS,
    QUANTITIES,
    SYMBOLS,
    sample,
    constants={"p": P},
    extras=extras,
    names=NAMES,
    about=__doc__ or "",
)
