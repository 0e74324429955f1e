"""Seeded generators and weight initialisers: distributions, bounds, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.nn.init import INITS, as_rng, he_normal, uniform_fan_in, xavier_uniform


def test_as_rng_returns_the_same_generator_or_seeds_one():
    g = np.random.default_rng(1)
    assert as_rng(g) is g
    np.testing.assert_array_equal(as_rng(5).random(3), np.random.default_rng(5).random(3))
    np.testing.assert_array_equal(as_rng(None).random(3), np.random.default_rng(0).random(3))


@pytest.mark.parametrize("name", sorted(INITS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_shape_and_reproducibility(name, dtype):
    init = INITS[name]
    a = init(np.random.default_rng(0), (30, 20), 20, np.dtype(dtype))
    b = init(np.random.default_rng(0), (30, 20), 20, np.dtype(dtype))
    assert a.dtype == dtype and a.shape == (30, 20)
    np.testing.assert_array_equal(a, b)


def test_uniform_fan_in_bound():
    w = uniform_fan_in(np.random.default_rng(0), (200, 50), 50, np.dtype(np.float64))
    bound = 1 / np.sqrt(50)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # fills the interval


def test_xavier_bound():
    w = xavier_uniform(np.random.default_rng(0), (40, 60), 60, np.dtype(np.float64))
    bound = np.sqrt(6 / 100)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


def test_he_normal_variance():
    w = he_normal(np.random.default_rng(0), (400, 100), 100, np.dtype(np.float64))
    assert abs(w.mean()) < 0.01
    assert w.var() == pytest.approx(2 / 100, rel=0.05)
