"""The reference derivation of the multi-task network (report 000, section 2.2) in closed form.

`derived_gradients(q)` computes the eight parameter gradients as derived, from ``q``, a
read-only namespace of one batch's forward quantities, named as in the
derivation (shapes for a batch of m rows): x (m, n); z1A, x1A, M, xDP (m, h); x2A = yhatA,
x1B, mu, xBN, xBNs, xplus (m, a; mu is (a,)); z2B, yhatB, log_yhatB (m, b); the targets
yA (m, a), yB (m, b) one-hot; m and the dropout probability p; and the parameters
theta1A (h, n), b1A (h,), theta2A (a, h), b2A (a,), theta1B (a, n), b1B (a,), theta2B (b, a),
b2B (b,).

`REFERENCE_FORMULAS` holds the same formulas as LaTeX for the report; ``reproduce``
checks `derived_gradients` against finite differences. `MISTAKES` switch single steps
to their classic wrong forms (for tests that need a wrong derivation). Checking a
learner's own formulas is the gradient doctor's job: `handgrad.checks.doctor`.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

import numpy as np

from handgrad.checks.network import Problem

# Non-square shapes, all different, so that a transposed gradient never has the right shape.
DEFAULT_DIMS = {"n": 5, "h": 4, "a": 3, "b": 6}
DEFAULT_BATCHES = (1, 2, 3, 5, 8)
DEFAULT_P = 0.5

# The reference derivation (report 000, section 2.2, with sgn read as 1[x > 0]), per parameter.
_DA = r"\big[(\hat y_A^i - y_A^i) + \theta_{2B}^\top(\hat y_B^i - y_B^i)\big]"
_G = r"g^i = \tfrac{1}{m}\,\theta_{2B}^\top(\hat y_B^i - y_B^i) \odot \mathbb{1}[x_{BN}^i > 0]"
_COS = r" \odot M^i \odot \cos z_{1A}^i"


def _lhs(symbol: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {symbol}}} = "


REFERENCE_FORMULAS: dict[str, str] = {
    "theta1A": _lhs(r"\theta_{1A}")
    + r"\frac{1}{m}\sum_{i=1}^m \Big(\theta_{2A}^\top"
    + _DA
    + _COS
    + r"\Big)(x^i)^\top",
    "b1A": _lhs("b_{1A}") + r"\frac{1}{m}\sum_{i=1}^m \theta_{2A}^\top" + _DA + _COS,
    "theta2A": _lhs(r"\theta_{2A}") + r"\frac{1}{m}\sum_{i=1}^m " + _DA + r"(x_{DP}^i)^\top",
    "b2A": _lhs("b_{2A}") + r"\frac{1}{m}\sum_{i=1}^m " + _DA,
    "theta1B": _lhs(r"\theta_{1B}")
    + r"\sum_{i=1}^m \Big(g^i - \frac{1}{m}\sum_{j=1}^m g^j\Big)(x^i)^\top,\quad "
    + _G,
    "b1B": _lhs("b_{1B}") + r"\sum_{i=1}^m g^i,\quad " + _G,
    "theta2B": _lhs(r"\theta_{2B}")
    + r"\frac{1}{m}\sum_{i=1}^m (\hat y_B^i - y_B^i)(x_\oplus^i)^\top",
    "b2B": _lhs("b_{2B}") + r"\frac{1}{m}\sum_{i=1}^m (\hat y_B^i - y_B^i)",
}


@dataclass(frozen=True)
class Mistake:
    """A classic slip in the derivation: what it is (one line) and which gradients it changes."""

    key: str
    explanation: str
    affects: tuple[str, ...]


_TASK_A = ("theta1A", "b1A")
MISTAKES: dict[str, Mistake] = {
    m.key: m
    for m in (
        Mistake(
            "bn_factor",
            "BN*'s batch-mean coupling written as a (1 − 1/m) factor; ∂L/∂x1B_i must be "
            "g_i − (1/m) Σ_j g_j (g = ∂L/∂xBN)",
            ("theta1B",),
        ),
        Mistake(
            "bn_uncoupled",
            "BN* batch mean ignored: ∂L/∂x1B_i must be g_i − (1/m) Σ_j g_j, not g_i",
            ("theta1B",),
        ),
        Mistake(
            "relu_as_step",
            "ReLU′ written as (x + |x|)/2, which is ReLU itself; use the step 1[xBN > 0]",
            ("theta1B", "b1B"),
        ),
        Mistake(
            "no_task_b_term",
            "∂L/∂ŷA lacks its task-B term: x2A also feeds x⊕, so add (1/m) θ2Bᵀ(ŷB − yB)",
            ("theta2A", "b2A", *_TASK_A),
        ),
        Mistake(
            "no_mask",
            "dropout mask M missing: ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A)",
            _TASK_A,
        ),
        Mistake(
            "unscaled_mask",
            "dropout mask used without its 1/(1 − p) scale: M's entries are 0 or 1/(1 − p)",
            _TASK_A,
        ),
        Mistake(
            "no_cos",
            "sin′ missing: ∂L/∂z1A needs the factor cos(z1A)",
            _TASK_A,
        ),
        Mistake(
            "sin_for_cos",
            "sin′ written as sin (or −cos); d sin(z)/dz = cos(z)",
            _TASK_A,
        ),
    )
}


def derived_gradients(
    q: types.SimpleNamespace, mistakes: frozenset[str] = frozenset()
) -> dict[str, np.ndarray]:
    """The derivation's eight gradients from the quantities ``q``, with chosen `MISTAKES` made.

    With no mistakes this equals `MultiTaskNet.backward` (a test keeps it so); each mistake
    switches one step of the chain to its classic wrong form, so a user's formula can be
    recognised as "the reference with these mistakes".
    """
    m = q.m
    dz2B = (q.yhatB - q.yB) / m  # ∂L/∂z2B
    dxplus = dz2B @ q.theta2B  # ∂L/∂x⊕
    relu_grad = (q.xBN + np.abs(q.xBN)) / 2 if "relu_as_step" in mistakes else q.xBN > 0
    dxBN = dxplus * relu_grad  # ∂L/∂xBN
    if "bn_factor" in mistakes:
        dx1B = (1 - 1 / m) * dxBN
    elif "bn_uncoupled" in mistakes:
        dx1B = dxBN
    else:
        dx1B = dxBN - dxBN.mean(axis=0)  # ∂L/∂x1B
    dyhatA = (q.yhatA - q.yA) / m  # ∂L/∂ŷA, task-A term
    if "no_task_b_term" not in mistakes:
        dyhatA = dyhatA + dxplus  # ... and its task-B term
    mask = q.M
    if "no_mask" in mistakes:
        mask = np.ones_like(q.M)
    elif "unscaled_mask" in mistakes:
        mask = (q.M != 0).astype(q.M.dtype)
    if "no_cos" in mistakes:
        dsin = np.ones_like(q.z1A)
    elif "sin_for_cos" in mistakes:
        dsin = np.sin(q.z1A)
    else:
        dsin = np.cos(q.z1A)
    dz1A = (dyhatA @ q.theta2A) * mask * dsin  # ∂L/∂z1A
    return {
        "theta1A": dz1A.T @ q.x,
        "b1A": dz1A.sum(axis=0),
        "theta2A": dyhatA.T @ q.xDP,
        "b2A": dyhatA.sum(axis=0),
        "theta1B": dx1B.T @ q.x,
        "b1B": dxBN.sum(axis=0),
        "theta2B": dz2B.T @ q.xplus,
        "b2B": dz2B.sum(axis=0),
    }


# --- the network's own quantities and gradients -----------------------------------------
def quantities(problem: Problem) -> types.SimpleNamespace:
    """The read-only namespace ``q`` a user formula receives for one batch (see module doc)."""
    net = problem.net
    net.forward(problem.x, problem.mask, training=True)
    fwd = net.residuals
    values: dict[str, object] = dict(fwd.as_dict())
    values["yA"] = problem.yA
    values["yB"] = problem.yB
    values.update({name: p.data for name, p in net.params.items()})
    frozen = {}
    for k, v in values.items():
        v = np.array(v, copy=True)
        v.setflags(write=False)
        frozen[k] = v
    return types.SimpleNamespace(**frozen, m=fwd.m, p=net.p)


def true_gradients(problem: Problem) -> dict[str, np.ndarray]:
    """The network's own backward (checked against finite differences and autograd)."""
    problem.loss()
    problem.net.zero_grad()
    problem.net.loss_backward()
    return {name: p.grad.copy() for name, p in problem.net.params.items()}
