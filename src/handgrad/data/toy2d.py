"""Seeded 2-D datasets with known densities, for the VAE.

Each dataset is a distribution p whose density, mean, covariance and entropy are known,
so a trained model can be judged against the truth:

    gauss-full   N(m, Σ), m = (1, 2), standard deviations 5 and 1 rotated by 45°:
                 Σ = R diag(25, 1) Rᵀ = [[13, 12], [12, 13]]
    gauss-diag   the same Gaussian axis-aligned: Σ = diag(25, 1)
    ring         8 equal Gaussians (std 0.5) centred on a circle of radius 4

The entropy H[p] = −E_p[log p(x)] is the lowest expected negative log-likelihood any
model can reach (in nats per point): for a Gaussian H = ½ log det(2πe Σ); for the ring
it has no closed form and is estimated by Monte Carlo with a fixed seed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handgrad.errors import HandgradError

N_TRAIN = 10_000
N_TEST = 2_500
_ENTROPY_MC_SAMPLES = 200_000


class Gaussian2D:
    """N(mean, cov) in 2-D. Shapes: mean (2,), cov (2, 2) symmetric positive definite."""

    def __init__(self, mean: np.ndarray, cov: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.cov = np.asarray(cov, dtype=np.float64)
        self._chol = np.linalg.cholesky(self.cov)
        self._prec = np.linalg.inv(self.cov)
        self._logdet = float(np.linalg.slogdet(self.cov)[1])

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points (n, 2), float64: x = m + L ε with Σ = L Lᵀ."""
        return self.mean + rng.standard_normal((n, 2)) @ self._chol.T

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """log p(x) per row: −½ [2 log 2π + log det Σ + (x − m)ᵀ Σ⁻¹ (x − m)]; (n, 2) → (n,)."""
        d = np.asarray(x, dtype=np.float64) - self.mean
        maha = np.einsum("ni,ij,nj->n", d, self._prec, d)
        return -0.5 * (2 * math.log(2 * math.pi) + self._logdet + maha)

    def components(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The Gaussian components as (mean (2,), cov (2, 2)): here just one."""
        return [(self.mean, self.cov)]

    def entropy(self) -> float:
        """H = ½ log det(2πe Σ) = 1 + log 2π + ½ log det Σ (exact)."""
        return 1 + math.log(2 * math.pi) + 0.5 * self._logdet


class GaussianRing:
    """Equal mixture of k isotropic Gaussians N(c_j, s² I), c_j = r (cos 2πj/k, sin 2πj/k)."""

    def __init__(self, k: int = 8, radius: float = 4.0, std: float = 0.5):
        self.k, self.radius, self.std = k, radius, std
        angles = 2 * np.pi * np.arange(k) / k
        self.centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        self.mean = self.centres.mean(axis=0)
        spread = (self.centres - self.mean).T @ (self.centres - self.mean) / k
        self.cov = spread + std**2 * np.eye(2)  # law of total covariance

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n points (n, 2), float64: a uniformly chosen centre plus N(0, s² I) noise."""
        j = rng.integers(0, self.k, size=n)
        return self.centres[j] + self.std * rng.standard_normal((n, 2))

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """log p(x) = logsumexp_j [log N(x; c_j, s² I)] − log k; (n, 2) → (n,)."""
        x = np.asarray(x, dtype=np.float64)
        sq = ((x[:, None, :] - self.centres[None]) ** 2).sum(axis=2)  # (n, k)
        logn = -0.5 * sq / self.std**2 - math.log(2 * math.pi * self.std**2)
        top = logn.max(axis=1)
        return top + np.log(np.exp(logn - top[:, None]).sum(axis=1)) - math.log(self.k)

    def components(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The k mixture components as (c_j (2,), s² I (2, 2))."""
        return [(c, self.std**2 * np.eye(2)) for c in self.centres]

    def entropy(self) -> float:
        """H ≈ −mean log p(x) over a fixed-seed Monte Carlo sample (std error ≈ 0.002 nats)."""
        return _ring_entropy(self.k, self.radius, self.std)


@functools.cache
def _ring_entropy(k: int, radius: float, std: float) -> float:
    ring = GaussianRing(k, radius, std)
    x = ring.sample(_ENTROPY_MC_SAMPLES, np.random.default_rng(20240601))
    return float(-ring.log_prob(x).mean())


def _rotation(degrees: float) -> np.ndarray:
    t = math.radians(degrees)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _gauss(rotation_deg: float) -> Gaussian2D:
    r = _rotation(rotation_deg)
    return Gaussian2D([1.0, 2.0], r @ np.diag([5.0**2, 1.0**2]) @ r.T)


DISTRIBUTIONS: dict[str, Callable[[], Gaussian2D | GaussianRing]] = {
    "gauss-full": lambda: _gauss(45.0),
    "gauss-diag": lambda: _gauss(0.0),
    "ring": GaussianRing,
}
DESCRIPTIONS = {
    "gauss-full": "Gaussian, mean (1, 2), std 5 and 1 rotated by 45° (full covariance)",
    "gauss-diag": "Gaussian, mean (1, 2), std 5 and 1 along the axes (diagonal covariance)",
    "ring": "8 Gaussians (std 0.5) on a circle of radius 4",
}


@dataclass(frozen=True)
class Toy2D:
    """A generated 2-D dataset and the truth about its distribution.

    train (n_train, 2), test (n_test, 2) in the requested dtype; mean (2,), cov (2, 2)
    and entropy (nats per point) of the true distribution, in float64;
    ``log_prob(x)`` the true log-density per row, (n, 2) → (n,); ``components`` the
    Gaussian components of the truth as (mean, cov) pairs (one for the Gaussians).
    """

    name: str
    description: str
    train: np.ndarray
    test: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    entropy: float
    entropy_exact: bool
    log_prob: Callable[[np.ndarray], np.ndarray]
    components: list[tuple[np.ndarray, np.ndarray]]


def load_toy2d(
    name: str,
    *,
    n_train: int = N_TRAIN,
    n_test: int = N_TEST,
    seed: int = 0,
    dtype: np.dtype | type = np.float32,
) -> Toy2D:
    """Generate dataset ``name`` (a key of `DISTRIBUTIONS`); same seed, same points.

    The training points are drawn first, then the test points, from one Generator.
    """
    if name not in DISTRIBUTIONS:
        raise HandgradError(f"unknown 2-D dataset {name!r}; choose one of {sorted(DISTRIBUTIONS)}")
    if n_train < 1 or n_test < 1:
        raise HandgradError(f"dataset sizes must be ≥ 1, got n_train={n_train}, n_test={n_test}")
    dist = DISTRIBUTIONS[name]()
    rng = np.random.default_rng(seed)
    train = dist.sample(n_train, rng).astype(dtype)
    test = dist.sample(n_test, rng).astype(dtype)
    return Toy2D(
        name=name,
        description=DESCRIPTIONS[name],
        train=train,
        test=test,
        mean=dist.mean.copy(),
        cov=dist.cov.copy(),
        entropy=dist.entropy(),
        entropy_exact=isinstance(dist, Gaussian2D),
        log_prob=dist.log_prob,
        components=dist.components(),
    )
