"""Typical mistakes in the multi-task gradients, for the checker to catch and explain.

Run::

    handgrad check formulas examples/formulas_mistakes.py     # exit code 1

Same file format as ``examples/formulas_multitask.py``. Three classic slips are made here:

1. BN*'s batch-mean coupling written as a factor (1 − 1/m), as in eqs. (5)-(6) of
   report 003: wrong for theta1B (right only at m = 1, where both are 0).
2. The ReLU derivative written as sgn(x) = (x + |x|)/2, which is ReLU itself, not the
   step 1[x > 0]: wrong for theta1B and b1B.
3. ∂L/∂ŷA without its task-B term: x2A = ŷA also feeds x⊕, but only (1/m)(ŷA − yA) is
   kept: wrong for theta2A, b2A, theta1A and b1A.

theta2B and b2B are written correctly.
"""

import numpy as np


def sgn(x):
    """Report 003's sgn, taken literally: (x + |x|)/2 (this is ReLU, not its derivative)."""
    return (x + np.abs(x)) / 2


def grad_theta2B(q):
    return (q.yhatB - q.yB).T @ q.xplus / q.m


def grad_b2B(q):
    return (q.yhatB - q.yB).sum(axis=0) / q.m


def grad_theta1B(q):
    # report 003, eq. (6): (1/m)(1 − 1/m) Σ_i θ2Bᵀ(ŷB_i − yB_i) ⊙ sgn(xBN_i) x_iᵀ
    g = ((q.yhatB - q.yB) @ q.theta2B) * sgn(q.xBN)
    return (1 / q.m) * (1 - 1 / q.m) * g.T @ q.x


def grad_b1B(q):
    # report 003, eq. (7): (1/m) Σ_i θ2Bᵀ(ŷB_i − yB_i) ⊙ sgn(xBN_i)
    return (((q.yhatB - q.yB) @ q.theta2B) * sgn(q.xBN)).sum(axis=0) / q.m


def d_yhatA_task_a_only(q):
    """∂L/∂ŷA with only the task-A term (the task-B term θ2Bᵀ(ŷB − yB)/m is forgotten)."""
    return (q.yhatA - q.yA) / q.m


def grad_theta2A(q):
    return d_yhatA_task_a_only(q).T @ q.xDP


def grad_b2A(q):
    return d_yhatA_task_a_only(q).sum(axis=0)


def grad_theta1A(q):
    dz1A = (d_yhatA_task_a_only(q) @ q.theta2A) * q.M * np.cos(q.z1A)
    return dz1A.T @ q.x


def grad_b1A(q):
    dz1A = (d_yhatA_task_a_only(q) @ q.theta2A) * q.M * np.cos(q.z1A)
    return dz1A.sum(axis=0)
