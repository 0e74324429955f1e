"""The VAE with a Gaussian decoder: reparameterisation, Gaussian KL, Gaussian NLL.

    μ = x Wμᵀ + bμ;  log σ² = x Wvᵀ + bv;  σ = exp(½ log σ²);  z = μ + σ ⊙ ε
    x̂μ = z Wdᵀ + bd;  x̂v = z Wsᵀ + bs
    L = NLL + KL,  NLL = (1/m) Σ ½[log 2π + x̂v + (x − x̂μ)² e^{−x̂v}],
                   KL = −(1/m) Σ ½(1 + log σ² − μ² − σ²)

Check with ``handgrad check formulas examples/formulas_vae_gauss.py``. ``q``: x, xmu,
xlogvar (m, D); eps, mu, logvar, sigma, zs, z (m, K); the parameters; m.
"""

import numpy as np

PROBLEM = "vae_gauss"


def grad_xmu(q):
    """∂NLL/∂x̂μ = (x̂μ − x)/σ̂² per entry, over m."""
    return (q.xmu - q.x) * np.exp(-q.xlogvar) / q.m


def grad_xlogvar(q):
    """∂NLL/∂x̂v = ½(1 − (x − x̂μ)² e^{−x̂v}), over m."""
    return 0.5 * (1 - (q.x - q.xmu) ** 2 * np.exp(-q.xlogvar)) / q.m


def grad_bd(q):
    return grad_xmu(q).sum(axis=0)


def grad_Wd(q):
    return grad_xmu(q).T @ q.z


def grad_bs(q):
    return grad_xlogvar(q).sum(axis=0)


def grad_Ws(q):
    return grad_xlogvar(q).T @ q.z


def grad_z(q):
    return grad_xmu(q) @ q.Wd + grad_xlogvar(q) @ q.Ws


def grad_sigma(q):
    return grad_z(q) * q.eps


def grad_logvar(q):
    """Through σ (∂σ/∂log σ² = ½σ) and through the KL (½(σ² − 1)/m)."""
    return grad_sigma(q) * 0.5 * q.sigma + 0.5 * (np.exp(q.logvar) - 1) / q.m


def grad_mu(q):
    """Through z (∂z/∂μ = 1) and through the KL (μ/m)."""
    return grad_z(q) + q.mu / q.m


def grad_bv(q):
    return grad_logvar(q).sum(axis=0)


def grad_Wv(q):
    return grad_logvar(q).T @ q.x


def grad_bmu(q):
    return grad_mu(q).sum(axis=0)


def grad_Wmu(q):
    return grad_mu(q).T @ q.x
