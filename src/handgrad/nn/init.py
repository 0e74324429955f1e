"""Seeded randomness and weight initialisation.

All randomness in handgrad comes from a `numpy.random.Generator` that the caller
seeds: pass a Generator to share one stream, or an int seed; same seed, same numbers.
"""

from __future__ import annotations

import numpy as np

RngLike = np.random.Generator | int | None


def as_rng(rng: RngLike) -> np.random.Generator:
    """A Generator from a Generator (returned as is), an int seed, or None (seed 0)."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(0 if rng is None else rng)


def uniform_fan_in(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype: np.dtype
) -> np.ndarray:
    """U(−1/√fan_in, 1/√fan_in): PyTorch's default for `Linear` weights and biases."""
    bound = 1.0 / np.sqrt(fan_in) if fan_in > 0 else 0.0
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


def he_normal(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype: np.dtype
) -> np.ndarray:
    """N(0, 2/fan_in) (He et al. 2015), suited to ReLU networks."""
    return (rng.standard_normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def xavier_uniform(
    rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype: np.dtype
) -> np.ndarray:
    """U(−a, a) with a = √(6/(fan_in+fan_out)) (Glorot & Bengio 2010), for tanh/sigmoid."""
    fan_out = shape[0]
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape).astype(dtype)


INITS = {"uniform": uniform_fan_in, "he": he_normal, "xavier": xavier_uniform}
