"""Block One (ii): inverted dropout, y = x ⊙ M with M = 1[r ≥ p]/(1 − p).

Check with ``handgrad check formulas examples/formulas_dropout.py``. L = Σ y ⊙ dy, so
∂L/∂y = dy. ``q``: x, r, M, y, dy (m, d); p; m.
"""

PROBLEM = "dropout"


def grad_x(q):
    """∂y_j/∂x_j = M_j, so ∂L/∂x = dy ⊙ M."""
    return q.dy * q.M
