"""The multi-task network's gradients as derived in report 000 (section 2.2), all sixteen.

Check this file with::

    handgrad check formulas examples/formulas_multitask.py

A formula is a function ``grad_<quantity>(q)`` returning ∂L/∂<quantity> with that
quantity's shape: the eight parameters (weights stored (out, in)) and the residuals
z2B, xplus (x⊕), xBN, x1B, yhatA (ŷA = x2A), xDP, x1A, z1A. Quantities without a
function are "not given". ``handgrad check formulas --list`` shows every quantity and shape.

``q`` holds one batch's forward quantities (rows are examples, m rows):

    x (m, n)                      input
    z1A, x1A, r, M, xDP (m, h)    z1A = x θ1Aᵀ + b1A, x1A = sin(z1A), r ~ U(0, 1),
                                  M = 1[r ≥ p]/(1 − p) the dropout mask, xDP = x1A ⊙ M
    x2A = yhatA (m, a)            ŷA = xDP θ2Aᵀ + b2A
    x1B, xBN, xBNs (m, a); mu (a,) x1B = x θ1Bᵀ, xBN = x1B − mu + b1B, xBNs = ReLU(xBN)
    xplus (m, a)                  x⊕ = x2A + xBNs
    z2B, yhatB, log_yhatB (m, b)  z2B = x⊕ θ2Bᵀ + b2B, ŷB = softmax(z2B)
    yA (m, a), yB (m, b)          targets (yB one-hot)
    m, p                          batch size, dropout probability
    theta1A … b2B                 the parameters

The loss is L = (1/m) Σ_i [½‖ŷA_i − yA_i‖² − Σ_k yB_ik log ŷB_ik].
"""

import numpy as np

PROBLEM = "multitask"


def step(x):
    """The derivative of ReLU: 1[x > 0] (report 000's sgn, read as the step function)."""
    return (x > 0).astype(x.dtype)


def grad_z2B(q):
    """∂L/∂z2B = (1/m)(ŷB − yB): softmax and cross-entropy together."""
    return (q.yhatB - q.yB) / q.m


def grad_b2B(q):
    return grad_z2B(q).sum(axis=0)


def grad_theta2B(q):
    return grad_z2B(q).T @ q.xplus


def grad_xplus(q):
    """∂L/∂x⊕ = (1/m)(ŷB − yB) θ2B, row-wise: (m, a)."""
    return grad_z2B(q) @ q.theta2B


def grad_xBN(q):
    """∂L/∂xBN = ∂L/∂x⊕ ⊙ 1[xBN > 0]."""
    return grad_xplus(q) * step(q.xBN)


def grad_b1B(q):
    return grad_xBN(q).sum(axis=0)


def grad_x1B(q):
    """BN*: ∂L/∂x1B_i = g_i − (1/m) Σ_j g_j with g = ∂L/∂xBN."""
    g = grad_xBN(q)
    return g - g.mean(axis=0)


def grad_theta1B(q):
    return grad_x1B(q).T @ q.x


def grad_yhatA(q):
    """∂L/∂ŷA = (1/m)(ŷA − yA) + ∂L/∂x⊕: both terms, since x2A feeds both losses."""
    return (q.yhatA - q.yA) / q.m + grad_xplus(q)


def grad_b2A(q):
    return grad_yhatA(q).sum(axis=0)


def grad_theta2A(q):
    return grad_yhatA(q).T @ q.xDP


def grad_xDP(q):
    return grad_yhatA(q) @ q.theta2A


def grad_x1A(q):
    return grad_xDP(q) * q.M


def grad_z1A(q):
    """∂L/∂z1A = ∂L/∂x1A ⊙ cos(z1A)."""
    return grad_x1A(q) * np.cos(q.z1A)


def grad_b1A(q):
    return grad_z1A(q).sum(axis=0)


def grad_theta1A(q):
    return grad_z1A(q).T @ q.x
