"""Inverted dropout: mask values and mean, eval identity, seeding, backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad import nn
from handgrad.errors import HandgradError


def expected_mask(seed: int, p: float, shape: tuple[int, ...]) -> np.ndarray:
    """The mask a Dropout seeded with ``seed`` draws first: 1[u ≥ p]/(1 − p), u ~ U[0, 1)."""
    return (np.random.default_rng(seed).random(shape) >= p) / (1 - p)


@settings(max_examples=15, deadline=None)
@given(
    m=st.integers(1, 6),
    d=st.integers(1, 5),
    p=st.sampled_from([0.1, 0.5, 0.9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_matches_autograd(oracle, m, d, p, seed):
    x = np.random.default_rng(seed + 1).standard_normal((m, d))
    mask = expected_mask(seed, p, (m, d))
    oracle(nn.Dropout(p, rng=seed), x, lambda x: x * mask)


@pytest.mark.parametrize("shape", [(1, 3), (4, 5)])
def test_backward_matches_finite_differences(fd_check, shape):
    fd_check(nn.Dropout(0.4, rng=0), np.random.default_rng(1).standard_normal(shape))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mask_entries_and_mean(p, dtype):
    layer = nn.Dropout(p, rng=0)
    x = np.ones((400, 250), dtype=dtype)
    y = layer.forward(x)
    assert y.dtype == dtype and layer.residuals.mask.dtype == dtype
    values = np.unique(layer.residuals.mask)
    np.testing.assert_allclose(values, [0.0, 1 / (1 - p)], rtol=1e-6)
    assert layer.residuals.mask.mean() == pytest.approx(1.0, abs=0.02)
    assert (layer.residuals.mask == 0).mean() == pytest.approx(p, abs=0.01)
    np.testing.assert_array_equal(y, x * layer.residuals.mask)
    dy = np.full_like(x, 3)
    np.testing.assert_array_equal(layer.backward(dy), dy * layer.residuals.mask)


def test_eval_is_identity():
    layer = nn.Dropout(0.5, rng=0).eval()
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert layer.forward(x) is x and layer.residuals.mask is None
    dy = np.ones_like(x)
    assert layer.backward(dy) is dy


def test_p_zero_is_identity_in_training():
    layer = nn.Dropout(0.0, rng=0)
    x = np.ones((2, 2))
    assert layer.forward(x) is x


def test_same_seed_same_masks_and_a_fresh_mask_each_call():
    x = np.ones((5, 6))
    a, b = nn.Dropout(0.5, rng=11), nn.Dropout(0.5, rng=11)
    first = a.forward(x).copy()
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, a.forward(x))
    assert not np.array_equal(first, nn.Dropout(0.5, rng=12).forward(x))


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_bad_p_raises(p):
    with pytest.raises(HandgradError, match="dropout p"):
        nn.Dropout(p)


def test_backward_shape_mismatch_raises():
    layer = nn.Dropout(0.5, rng=0)
    layer.forward(np.ones((2, 3)))
    with pytest.raises(HandgradError, match=r"\(3, 2\).*\(2, 3\)"):
        layer.backward(np.ones((3, 2)))
