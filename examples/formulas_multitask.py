"""The reference derivation's gradients of the multi-task network, as closed-form NumPy.

Check this file with::

    handgrad check formulas examples/formulas_multitask.py

File format: define ``grad_<param>(q)`` for any of the parameters theta1A, b1A, theta2A,
b2A, theta1B, b1B, theta2B, b2B; each returns ∂L/∂<param> with the parameter's shape
(weights are stored (out, in)). Parameters without a function are reported "not given".
Helper functions and imports are fine; only the ``grad_`` names are read.

``q`` holds one batch's forward quantities (rows are examples, m rows):

    x (m, n)                      input
    z1A, x1A, M, xDP (m, h)       z1A = x θ1Aᵀ + b1A, x1A = sin(z1A), M the dropout mask
                                  (entries 0 or 1/(1 − p)), xDP = x1A ⊙ M
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


def step(x):
    """The derivative of ReLU: 1[x > 0] (report 000's sgn, read as the step function)."""
    return (x > 0).astype(x.dtype)


def d_xplus(q):
    """∂L/∂x⊕ = (1/m) θ2Bᵀ(ŷB − yB), row-wise: (m, a)."""
    return (q.yhatB - q.yB) @ q.theta2B / q.m


def d_yhatA(q):
    """∂L/∂ŷA = (1/m)(ŷA − yA) + ∂L/∂x⊕: both terms, since x2A feeds both losses."""
    return (q.yhatA - q.yA) / q.m + d_xplus(q)


def d_z1A(q):
    """∂L/∂z1A = θ2Aᵀ ∂L/∂ŷA ⊙ M ⊙ cos(z1A), row-wise: (m, h)."""
    return (d_yhatA(q) @ q.theta2A) * q.M * np.cos(q.z1A)


def d_xBN(q):
    """∂L/∂xBN = ∂L/∂x⊕ ⊙ 1[xBN > 0]: (m, a)."""
    return d_xplus(q) * step(q.xBN)


def grad_theta2B(q):
    return (q.yhatB - q.yB).T @ q.xplus / q.m


def grad_b2B(q):
    return (q.yhatB - q.yB).sum(axis=0) / q.m


def grad_theta1B(q):
    g = d_xBN(q)
    return (g - g.mean(axis=0)).T @ q.x  # BN*: ∂L/∂x1B_i = g_i − (1/m) Σ_j g_j


def grad_b1B(q):
    return d_xBN(q).sum(axis=0)


def grad_theta2A(q):
    return d_yhatA(q).T @ q.xDP


def grad_b2A(q):
    return d_yhatA(q).sum(axis=0)


def grad_theta1A(q):
    return d_z1A(q).T @ q.x


def grad_b1A(q):
    return d_z1A(q).sum(axis=0)
