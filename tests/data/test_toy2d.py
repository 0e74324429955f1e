"""Generated 2-D datasets: seeded, the stated distributions, correct densities and entropies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from handgrad.data.toy2d import DISTRIBUTIONS, GaussianRing, load_toy2d
from handgrad.errors import HandgradError


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_sizes_dtype_and_seeding(name: str) -> None:
    d = load_toy2d(name)
    assert d.train.shape == (10_000, 2) and d.test.shape == (2_500, 2)
    assert d.train.dtype == d.test.dtype == np.float32
    again = load_toy2d(name)
    np.testing.assert_array_equal(d.train, again.train)
    np.testing.assert_array_equal(d.test, again.test)
    other = load_toy2d(name, seed=1)
    assert not np.array_equal(d.train, other.train)
    assert load_toy2d(name, n_train=10, n_test=5, dtype=np.float64).train.dtype == np.float64


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_samples_have_the_true_moments(name: str) -> None:
    d = load_toy2d(name, n_train=200_000, n_test=1)
    x = d.train.astype(np.float64)
    np.testing.assert_allclose(x.mean(0), d.mean, atol=0.05)
    assert np.linalg.norm(np.cov(x.T) - d.cov) / np.linalg.norm(d.cov) < 0.01


def test_gaussian_covariances_are_as_stated() -> None:
    full, diag = (
        load_toy2d("gauss-full", n_train=1, n_test=1),
        load_toy2d("gauss-diag", n_train=1, n_test=1),
    )
    np.testing.assert_allclose(diag.cov, np.diag([25.0, 1.0]))
    np.testing.assert_allclose(full.cov, [[13.0, 12.0], [12.0, 13.0]])
    # eigen-decomposition: std 5 along (1, 1)/√2 (rotated 45°), std 1 across it
    vals, vecs = np.linalg.eigh(full.cov)
    np.testing.assert_allclose(vals, [1.0, 25.0])
    np.testing.assert_allclose(np.abs(vecs[:, 1]), [math.sqrt(0.5)] * 2)
    np.testing.assert_allclose(full.mean, [1.0, 2.0])
    # the rotation changes neither entropy: ½ log det(2πe Σ) with det Σ = 25
    h = 1 + math.log(2 * math.pi) + 0.5 * math.log(25.0)
    assert full.entropy == pytest.approx(h) and diag.entropy == pytest.approx(h)
    assert full.entropy_exact and diag.entropy_exact


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_entropy_is_the_expected_negative_log_density(name: str) -> None:
    d = load_toy2d(name, n_train=100_000, n_test=1, seed=3)
    assert -d.log_prob(d.train).mean() == pytest.approx(d.entropy, abs=0.02)


def test_log_prob_integrates_to_one() -> None:
    for name in sorted(DISTRIBUTIONS):
        d = load_toy2d(name, n_train=1, n_test=1)
        g = np.linspace(-20, 20, 401)
        xx, yy = np.meshgrid(g, g)
        p = np.exp(d.log_prob(np.stack([xx.ravel(), yy.ravel()], axis=1)))
        assert p.sum() * (g[1] - g[0]) ** 2 == pytest.approx(1.0, abs=1e-3), name


def test_ring_entropy_is_close_to_separated_mixture_bound() -> None:
    ring = GaussianRing()
    separated = math.log(ring.k) + 1 + math.log(2 * math.pi * ring.std**2)
    h = ring.entropy()
    assert h <= separated + 1e-3
    assert h == pytest.approx(separated, abs=0.05)


def test_unknown_name_and_bad_sizes_raise() -> None:
    with pytest.raises(HandgradError, match="unknown 2-D dataset"):
        load_toy2d("spiral")
    with pytest.raises(HandgradError, match="sizes"):
        load_toy2d("ring", n_train=0)


def test_components_describe_the_truth() -> None:
    full = load_toy2d("gauss-full", n_train=1, n_test=1)
    ((mean, cov),) = full.components
    np.testing.assert_array_equal(mean, full.mean)
    np.testing.assert_array_equal(cov, full.cov)
    ring = load_toy2d("ring", n_train=1, n_test=1)
    means = np.array([m for m, _ in ring.components])
    assert means.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 4.0)
    within = np.mean([c for _, c in ring.components], axis=0)
    between = np.cov(means.T, bias=True)
    np.testing.assert_allclose(within + between, ring.cov, atol=1e-12)  # total covariance
