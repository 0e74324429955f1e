"""Block One: softmax followed by cross-entropy, L = −(1/m) Σ_i Σ_k y_ik log p_ik, p = softmax(z).

Check with ``handgrad check formulas examples/formulas_softmax_ce.py``. ``q``: z, p, y
(one-hot) (m, n); m.
"""

PROBLEM = "softmax_ce"


def grad_p(q):
    return -q.y / q.p / q.m


def grad_z(q):
    """The softmax Jacobian and ∂L/∂p together: (1/m)(p − y)."""
    return (q.p - q.y) / q.m
