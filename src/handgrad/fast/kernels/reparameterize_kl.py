"""The VAE's latent layer: the encoder's last bias, `Reparameterize` and `GaussianKL`,
forward in one pass and backward in another."""

from __future__ import annotations

import numpy as np

from handgrad.fast.compiled import jit
from handgrad.fast.kernels import Kernel, randn
from handgrad.nn.vae_losses import GaussianKL, Reparameterize


@jit
def reparameterize_kl(stats, b, eps, z, noise, var, kl):
    """The encoder's output to the latent sample and the KL term, in one pass.

    With stats ← stats + b (the encoder's last bias), μ = stats[:, :K], logσ² = stats[:, K:]:
    noise = exp(½ logσ²) ⊙ ε, z = μ + noise (`Reparameterize.forward`);
    var = exp(logσ²) and kl_i = ½ Σ_k (μ² + σ² − 1 − logσ²) (`GaussianKL.forward`).
    stats (m, 2K); b (2K,); eps, z, noise, var (m, K); kl (m,).
    """
    m, k = z.shape
    half = stats.dtype.type(0.5)
    for i in range(m):
        s = 0.0
        for j in range(k):
            mu = stats[i, j] + b[j]
            lv = stats[i, k + j] + b[k + j]
            stats[i, j], stats[i, k + j] = mu, lv
            nz = np.exp(half * lv) * eps[i, j]
            noise[i, j] = nz
            z[i, j] = mu + nz
            v = np.exp(lv)
            var[i, j] = v
            s += mu * mu + v - 1.0 - lv
        kl[i] = 0.5 * s


@jit
def reparameterize_kl_backward(dz, stats, noise, var, gk, dstats, bgrad):
    """Gradient of the encoder's output from dz and the KL term (weight gk = β dL/m).

    dstats[:, :K] = dz + gk μ  (`Reparameterize.backward` + `GaussianKL.backward`);
    dstats[:, K:] = ½ dz ⊙ noise + ½ gk (σ² − 1);  bgrad += Σ_rows dstats.
    dz, noise, var (m, K); stats, dstats (m, 2K) (stats holds μ | logσ² after
    `reparameterize_kl`); bgrad (2K,).
    """
    m, k = dz.shape
    acc = np.zeros(2 * k)
    half, one = dz.dtype.type(0.5), dz.dtype.type(1)
    for i in range(m):
        for j in range(k):
            dmu = dz[i, j] + gk * stats[i, j]
            dlv = half * dz[i, j] * noise[i, j] + (half * gk) * (var[i, j] - one)
            dstats[i, j], dstats[i, k + j] = dmu, dlv
            acc[j] += dmu
            acc[k + j] += dlv
    for j in range(2 * k):
        bgrad[j] += acc[j]


def _example(rng, dtype):
    m, k = 6, 3
    stats, b = randn(rng, dtype, m, 2 * k), randn(rng, dtype, 2 * k)
    return stats, b, randn(rng, dtype, m, k), randn(rng, dtype, m, k), 0.7


def _formula(stats, b, eps, dz, gk):
    k = eps.shape[1]
    full = stats + b
    mu, logvar = full[:, :k], full[:, k:]
    reparam, kl = Reparameterize(), GaussianKL()
    z, kl_rows = reparam.forward(mu, logvar, eps), kl.forward(mu, logvar)
    dmu, dlogvar = reparam.backward(dz)
    kmu, klogvar = kl.backward(stats.dtype.type(gk))
    dstats = np.concatenate([dmu + kmu, dlogvar + klogvar], axis=1)
    return {"z": z, "kl": kl_rows, "dstats": dstats, "bgrad": dstats.sum(axis=0)}


def _run(stats, b, eps, dz, gk):
    dtype, (m, k) = stats.dtype.type, eps.shape
    stats = stats.copy()
    z, noise, var = (np.empty((m, k), dtype) for _ in range(3))
    kl_rows, dstats, bgrad = np.empty(m, dtype), np.empty((m, 2 * k), dtype), np.zeros_like(b)
    reparameterize_kl(stats, b, eps, z, noise, var, kl_rows)
    reparameterize_kl_backward(dz, stats, noise, var, dtype(gk), dstats, bgrad)
    return {"z": z, "kl": kl_rows, "dstats": dstats, "bgrad": bgrad}


KERNELS = (
    Kernel(
        (reparameterize_kl, reparameterize_kl_backward),
        "the encoder's last bias, Reparameterize and GaussianKL, forward and backward",
        _example,
        _formula,
        _run,
    ),
)
