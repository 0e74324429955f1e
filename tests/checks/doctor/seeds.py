"""Every gradient formula of reports 000 and 003 (``/work/shared/seeds``), written as given.

Report 000 writes sgn(x) = (x + |x|)/2 in the dropout mask, M = sgn(r − p)/(1 − p), and in
the ReLU derivative, ∂L/∂xBN = ∂L/∂xBN* ∘ sgn(xBN). ``report000(sgn)`` takes that sgn as
a parameter: `step` (1[x > 0], what the report means) or `literal` ((x + |x|)/2, what it
writes). Per-row residuals are written for all rows at once (row i of the array is the
report's formula for sample i; θᵀ v for a column v becomes v θ for the rows v).

Report 003 names differ from 000's: its z1A = sin(θ1A x + b1A) is x1A, z_DP is xDP,
x2B = z_BN + ŷA is x⊕, H_BN = xBN, and its sign vector N (N_i = 1 if x_i > 0) is the step.
Its eqs. (4), (5), (10)-(12) put a Σ_i over the batch in front of a per-row residual whose
left side is for one sample i; they are read, as their left sides say, per row.
"""

from __future__ import annotations

import numpy as np


def step(x):
    return (x > 0).astype(np.float64)


def literal(x):
    return (x + np.abs(x)) / 2


def report000(sgn):
    """{problem: {quantity: formula}}: Block One 2.1 and Block Two 2.2 of report 000."""

    def mask(q):  # M = (1/(1 − p)) sgn(r − p·1)
        return sgn(q.r - q.p) / (1 - q.p)

    def dz2B(q):  # (1/m)(ŷB − yB)
        return (q.yhatB - q.yB) / q.m

    def dxplus(q):  # (1/m) θ2Bᵀ(ŷB − yB)
        return (q.yhatB - q.yB) @ q.theta2B / q.m

    def dxBN(q):  # (1/m) θ2Bᵀ(ŷB − yB) ∘ sgn(xBN)
        return dxplus(q) * sgn(q.xBN)

    def dx1B(
        q,
    ):  # (1/m) θ2Bᵀ(ŷB^i − yB^i) ∘ sgn(xBN^i) − (1/m²) Σ_j [θ2Bᵀ(ŷB^j − yB^j) ∘ sgn(xBN^j)]
        g = ((q.yhatB - q.yB) @ q.theta2B) * sgn(q.xBN)
        return g / q.m - g.sum(axis=0) / q.m**2

    def dyhatA(q):  # (1/m)[(ŷA − yA) + θ2Bᵀ(ŷB − yB)]
        return ((q.yhatA - q.yA) + (q.yhatB - q.yB) @ q.theta2B) / q.m

    def dxDP(q):  # (1/m) θ2Aᵀ[(ŷA − yA) + θ2Bᵀ(ŷB − yB)]
        return dyhatA(q) @ q.theta2A

    def dx1A(q):  # … ∘ M
        return dxDP(q) * mask(q)

    def dz1A(q):  # … ∘ M ∘ cos(z1A)
        return dx1A(q) * np.cos(q.z1A)

    def softmax_jacobian(q):  # i = k: (1 − y_i) y_i;  i ≠ k: −y_i y_k
        y = q.y
        n = y.shape[1]
        return np.where(
            np.eye(n, dtype=bool),
            (1 - y)[:, :, None] * y[:, :, None],
            -y[:, :, None] * y[:, None, :],
        )

    multitask = {
        "z2B": dz2B,
        "xplus": dxplus,
        "xBN": dxBN,
        "x1B": dx1B,
        "yhatA": dyhatA,
        "xDP": dxDP,
        "x1A": dx1A,
        "z1A": dz1A,
        "theta2A": lambda q: dyhatA(q).T @ q.xDP,  # (1/m) Σ_i [(ŷA − yA) + θ2Bᵀ(ŷB − yB)] xDPᵀ
        "b2A": lambda q: dyhatA(q).sum(axis=0),
        "theta1A": lambda q: dz1A(q).T @ q.x,  # (1/m) Σ_i {θ2Aᵀ[…] ⊙ M ⊙ cos(z1A)} xᵀ
        "b1A": lambda q: dz1A(q).sum(axis=0),
        "theta2B": lambda q: dz2B(q).T @ q.xplus,  # (1/m) Σ_i (ŷB − yB) x⊕ᵀ
        "b2B": lambda q: dz2B(q).sum(axis=0),
        "theta1B": lambda q: dx1B(q).T @ q.x,  # (1/m) Σ_i {θ2Bᵀ(…) ⊙ sgn(xBN) − (1/m) Σ_j […]} xᵀ
        "b1B": lambda q: dxBN(q).sum(axis=0),  # (1/m) Σ_i θ2Bᵀ(ŷB − yB) ⊙ sgn(xBN)
    }
    return {
        "batchnorm": {
            "gamma": lambda q: (q.dy * q.xhat).sum(axis=0),  # ∂y_i/∂γ = x̂_i
            "beta": lambda q: q.dy.sum(axis=0),  # ∂y_i/∂β = 1
        },
        "dropout": {"x": lambda q: q.dy * mask(q)},  # ∂y_j/∂x_j = M_j
        "softmax": {"J": softmax_jacobian},
        "multitask": multitask,
    }


def report003():
    """{problem: {quantity: formula}}: Blocks One and Two of report 003, eqs. (1)-(14)."""
    N = step  # N_i = 1 if x_i > 0 else 0

    def dxplus(q):  # (4): ∂L/∂x2B = ∂L/∂z_BN = (1/m) θ2Bᵀ(ŷB − yB)
        return (q.yhatB - q.yB) @ q.theta2B / q.m

    def dyhatA(q):  # (10): (1/m)[(ŷA − yA) + θ2Bᵀ(ŷB − yB)]
        return ((q.yhatA - q.yA) + (q.yhatB - q.yB) @ q.theta2B) / q.m

    def eq5(q):  # (5): ∂L/∂z1B = (1/m)(1 − 1/m) θ2Bᵀ(ŷB − yB) ⊙ sgn(H_BN)
        return (1 / q.m) * (1 - 1 / q.m) * ((q.yhatB - q.yB) @ q.theta2B) * N(q.xBN)

    def dx1A(q):  # (12): ∂L/∂z1A (003's z1A is x1A) = θ2Aᵀ[…] ⊙ M
        return dyhatA(q) @ q.theta2A * q.M

    def dH1A(q):  # the summand of (13)-(14): θ2Aᵀ[…] ⊙ M ⊙ cos(H1A)
        return dx1A(q) * np.cos(q.z1A)

    def softmax_jacobian(q):  # 1.3: ∂y_i/∂x_i = y_i(1 − y_i), ∂y_i/∂x_j = −y_i y_j
        y = q.y
        return y[:, :, None] * np.eye(y.shape[1]) - y[:, :, None] * y[:, None, :]

    return {
        "batchnorm": {
            "gamma": lambda q: (q.dy * q.xhat).sum(axis=0),  # 1.1: ∂y_i/∂γ = x̂_i
            "beta": lambda q: q.dy.sum(axis=0),  # ∂y_i/∂β = 1
        },
        "dropout": {"x": lambda q: q.dy * q.M},  # 1.2: ∂y/∂x = M
        "softmax": {"J": softmax_jacobian},
        "multitask": {
            "theta2B": lambda q: (q.yhatB - q.yB).T @ q.xplus / q.m,  # (3)
            "b2B": lambda q: (q.yhatB - q.yB).sum(axis=0) / q.m,
            "xplus": dxplus,  # (4)
            "x1B": eq5,  # (5)
            "theta1B": lambda q: eq5(q).T @ q.x,  # (6)
            "b1B": lambda q: (dxplus(q) * N(q.xBNs)).sum(axis=0),  # (7): sgn(z_BN), after ReLU
            "theta2A": lambda q: dyhatA(q).T @ q.xDP,  # (8)
            "b2A": lambda q: dyhatA(q).sum(axis=0),  # (9)
            "yhatA": dyhatA,  # (10)
            "xDP": lambda q: dyhatA(q) @ q.theta2A,  # (11)
            "x1A": dx1A,  # (12)
            "theta1A": lambda q: dH1A(q).T @ q.x,  # (13)
            "b1A": lambda q: dH1A(q).sum(axis=0),  # (14)
        },
    }
