"""The VAE's gradients: encoder heads, reparameterisation, Gaussian KL, decoder NLL.

    μ = x Wμᵀ + bμ;  log σ² = x Wvᵀ + bv                    (encoder, linear heads)
    σ = exp(½ log σ²);  z = μ + σ ⊙ ε                        (reparameterisation, ε ~ N(0, I))
    KL = −(1/m) Σ ½(1 + log σ² − μ² − σ²)
    ``vae_gauss``:     x̂μ = z Wdᵀ + bd;  x̂v = z Wsᵀ + bs (decoder mean and log-variance)
                       NLL = (1/m) Σ ½[log 2π + x̂v + (x − x̂μ)² e^{−x̂v}]
    ``vae_bernoulli``: l = z Wdᵀ + bd (logits);  NLL = (1/m) Σ [softplus(l) − x l], x ∈ {0, 1}
    L = NLL + KL

Sizes: D = 4 data dimensions, K = 2 latent dimensions. μ and log σ² each feed two
steps (the reparameterisation and the KL), so their gradients have two terms.
"""

from __future__ import annotations

import numpy as np

from handgrad.checks.doctor import ops
from handgrad.checks.doctor.graph import Problem, Step

D, K = 4, 2

SYMBOLS = {
    "mu": "μ",
    "logvar": "log σ²",
    "sigma": "σ",
    "zs": "σ ⊙ ε",
    "Wmu": "Wμ",
    "bmu": "bμ",
    "xmu": "x̂μ",
    "xlogvar": "x̂v",
    "logits": "l",
    "p": "σ(l)",
}


def _sampler(binary: bool):
    def sample(rng: np.random.Generator, m: int) -> dict[str, np.ndarray]:
        x = (rng.random((m, D)) < 0.5) * 1.0 if binary else rng.standard_normal((m, D))
        leaves = {
            "x": x,
            "eps": rng.standard_normal((m, K)),
            "Wmu": rng.standard_normal((K, D)) * 0.5,
            "bmu": rng.standard_normal(K) * 0.5,
            "Wv": rng.standard_normal((K, D)) * 0.3,
            "bv": rng.standard_normal(K) * 0.3,
            "Wd": rng.standard_normal((D, K)) * 0.5,
            "bd": rng.standard_normal(D) * 0.5,
        }
        if not binary:
            leaves["Ws"] = rng.standard_normal((D, K)) * 0.3
            leaves["bs"] = rng.standard_normal(D) * 0.3
        return leaves

    return sample


ENCODER = (
    Step("mu", ops.linear, ("x", "Wmu", "bmu")),
    Step("logvar", ops.linear, ("x", "Wv", "bv")),
    Step("sigma", ops.exp_half, ("logvar",)),
    Step("zs", ops.noise, ("sigma", "eps")),
    Step("z", ops.add, ("mu", "zs")),
    Step("KL", ops.gaussian_kl, ("mu", "logvar")),
)
ENCODER_QUANTITIES = ("z", "sigma", "logvar", "mu", "bv", "Wv", "bmu", "Wmu")


def _names(decoder: str) -> dict[str, tuple[str, str, str]]:
    return {
        "missing_term:mu.KL": (
            "no_kl_term",
            "∂L/∂μ lacks the KL term μ/m: μ feeds both z and the KL",
            "add ∂KL/∂μ = μ/m",
        ),
        "missing_term:mu.z": (
            "no_reconstruction_term",
            f"∂L/∂μ lacks the term through z (∂{decoder}/∂z): μ feeds both z and the KL",
            "add ∂L/∂z (∂z/∂μ = 1)",
        ),
        "missing_term:logvar.KL": (
            "no_kl_term",
            "∂L/∂log σ² lacks the KL term ½(σ² − 1)/m: log σ² feeds both σ and the KL",
            "add ∂KL/∂log σ² = ½(σ² − 1)/m",
        ),
        "missing_term:logvar.sigma": (
            "no_reconstruction_term",
            "∂L/∂log σ² lacks the term through σ: log σ² feeds both σ and the KL",
            "add ∂L/∂z ⊙ ε ⊙ ½σ",
        ),
    }


VAE_GAUSS = Problem(
    "vae_gauss",
    "the VAE with a Gaussian decoder: reparameterisation, KL, Gaussian NLL",
    (
        *ENCODER,
        Step("xmu", ops.linear, ("z", "Wd", "bd")),
        Step("xlogvar", ops.linear, ("z", "Ws", "bs")),
        Step("NLL", ops.gaussian_nll, ("x", "xmu", "xlogvar")),
        Step("L", ops.add, ("NLL", "KL")),
    ),
    ("xmu", "xlogvar", "bd", "Wd", "bs", "Ws", *ENCODER_QUANTITIES),
    SYMBOLS,
    _sampler(binary=False),
    names=_names("NLL"),
    about="q: x, xmu, xlogvar (m, D); eps, mu, logvar, sigma, zs = sigma*eps, z (m, K); "
    "Wmu, Wv (K, D), bmu, bv (K,); Wd, Ws (D, K), bd, bs (D,); KL, NLL (scalars); m.",
)

VAE_BERNOULLI = Problem(
    "vae_bernoulli",
    "the VAE with a Bernoulli decoder: reparameterisation, KL, Bernoulli NLL from logits",
    (
        *ENCODER,
        Step("logits", ops.linear, ("z", "Wd", "bd")),
        Step("NLL", ops.bernoulli_nll, ("x", "logits")),
        Step("L", ops.add, ("NLL", "KL")),
    ),
    ("logits", "bd", "Wd", *ENCODER_QUANTITIES),
    SYMBOLS,
    _sampler(binary=True),
    names=_names("NLL"),
    extras=lambda v: {"p": 1.0 / (1.0 + np.exp(-v["logits"]))},
    about="q: x ∈ {0, 1}, logits, p = σ(logits) (m, D); eps, mu, logvar, sigma, "
    "zs = sigma*eps, z (m, K); Wmu, Wv (K, D), bmu, bv (K,); Wd (D, K), bd (D,); "
    "KL, NLL (scalars); m.",
)
