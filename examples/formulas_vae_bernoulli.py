"""The VAE with a Bernoulli decoder: reparameterisation, Gaussian KL, Bernoulli NLL.

    μ = x Wμᵀ + bμ;  log σ² = x Wvᵀ + bv;  σ = exp(½ log σ²);  z = μ + σ ⊙ ε
    l = z Wdᵀ + bd (logits);  NLL = (1/m) Σ [softplus(l) − x l],  x ∈ {0, 1}
    KL = −(1/m) Σ ½(1 + log σ² − μ² − σ²);  L = NLL + KL

Check with ``handgrad check formulas examples/formulas_vae_bernoulli.py``. ``q``: x,
logits (m, D); eps, mu, logvar, sigma, zs, z (m, K); the parameters; m.
"""

import numpy as np

PROBLEM = "vae_bernoulli"


def sigmoid(t):
    return 1 / (1 + np.exp(-t))


def grad_logits(q):
    """∂NLL/∂l = σ(l) − x per entry, over m."""
    return (sigmoid(q.logits) - q.x) / q.m


def grad_bd(q):
    return grad_logits(q).sum(axis=0)


def grad_Wd(q):
    return grad_logits(q).T @ q.z


def grad_z(q):
    return grad_logits(q) @ q.Wd


def grad_sigma(q):
    return grad_z(q) * q.eps


def grad_logvar(q):
    return grad_sigma(q) * 0.5 * q.sigma + 0.5 * (np.exp(q.logvar) - 1) / q.m


def grad_mu(q):
    return grad_z(q) + q.mu / q.m


def grad_bv(q):
    return grad_logvar(q).sum(axis=0)


def grad_Wv(q):
    return grad_logvar(q).T @ q.x


def grad_bmu(q):
    return grad_mu(q).sum(axis=0)


def grad_Wmu(q):
    return grad_mu(q).T @ q.x
