"""Block One (iii): the softmax y = softmax(z) of each row, its Jacobian and ∂L/∂z.

Check with ``handgrad check formulas examples/formulas_softmax.py``. ``q``: z, y, dy (m, n);
m. ``grad_J`` returns each row's Jacobian J[b, i, k] = ∂y_bi/∂z_bk, shape (m, n, n);
``grad_z`` returns ∂L/∂z for L = Σ y ⊙ dy.
"""

import numpy as np

PROBLEM = "softmax"


def grad_J(q):
    """∂y_i/∂z_i = y_i(1 − y_i); ∂y_i/∂z_k = −y_i y_k (i ≠ k): diag(y) − y yᵀ."""
    y = q.y
    return np.einsum("bi,ik->bik", y, np.eye(y.shape[1])) - y[:, :, None] * y[:, None, :]


def grad_z(q):
    """∂L/∂z_k = Σ_i dy_i ∂y_i/∂z_k = y_k (dy_k − Σ_i dy_i y_i)."""
    return q.y * (q.dy - (q.dy * q.y).sum(axis=1, keepdims=True))
