"""Block One (i): batch normalisation, y = γ x̂ + β with x̂ = (x − μ_B)/√(σ_B² + ε).

Check with ``handgrad check formulas examples/formulas_batchnorm.py``. L = Σ y ⊙ dy for a
fixed random dy, so ∂L/∂y = dy. ``q``: x, dy, y, xhat (m, d); gamma, beta, mu, var,
sigma = √(var + eps) (d,); eps; m.
"""

PROBLEM = "batchnorm"


def grad_beta(q):
    """∂L/∂β = Σ_i dy_i (∂y_i/∂β = 1)."""
    return q.dy.sum(axis=0)


def grad_gamma(q):
    """∂L/∂γ = Σ_i dy_i ⊙ x̂_i (∂y_i/∂γ = x̂_i)."""
    return (q.dy * q.xhat).sum(axis=0)


def grad_xhat(q):
    return q.dy * q.gamma


def grad_x(q):
    """∂L/∂x_i = (1/σ)(g_i − mean_j g_j − x̂_i mean_j(g_j x̂_j)), g = ∂L/∂x̂."""
    g = grad_xhat(q)
    return (g - g.mean(axis=0) - q.xhat * (g * q.xhat).mean(axis=0)) / q.sigma
