"""The MLP classifier's backward: z1 = x W1ᵀ + b1, h1 = ReLU(z1), z2 = h1 W2ᵀ + b2,
ŷ = softmax(z2), L = −(1/m) Σ_i Σ_k y_ik log ŷ_ik.

Check with ``handgrad check formulas examples/formulas_mlp.py``. ``q``: x (m, n); y, z2,
yhat (m, c); z1, h1 (m, h); W1 (h, n), b1 (h,), W2 (c, h), b2 (c,); m.
"""

PROBLEM = "mlp"


def grad_z2(q):
    return (q.yhat - q.y) / q.m


def grad_b2(q):
    return grad_z2(q).sum(axis=0)


def grad_W2(q):
    return grad_z2(q).T @ q.h1


def grad_h1(q):
    return grad_z2(q) @ q.W2


def grad_z1(q):
    return grad_h1(q) * (q.z1 > 0)


def grad_b1(q):
    return grad_z1(q).sum(axis=0)


def grad_W1(q):
    return grad_z1(q).T @ q.x
