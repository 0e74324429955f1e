"""Binarisation: 0/1 draws with the pixel as probability; fresh per batch, fixed for the test."""

import numpy as np

from handgrad.data import binarize

P = np.random.default_rng(0).random((400, 50), dtype=np.float32)


def test_a_draw_is_binary_with_the_pixel_as_its_mean() -> None:
    draws = np.stack([binarize.train_batch(P, 0, 1, s) for s in range(1, 201)])
    assert set(np.unique(draws)) == {0.0, 1.0} and draws.dtype == np.float32
    assert np.abs(draws.mean(axis=0) - P).max() < 0.15  # 200 draws: 4.3σ at p = ½


def test_each_batch_is_fresh_yet_reproducible() -> None:
    a = binarize.train_batch(P, seed=0, epoch=1, step=1)
    np.testing.assert_array_equal(a, binarize.train_batch(P, seed=0, epoch=1, step=1))
    assert not np.array_equal(a, binarize.train_batch(P, seed=0, epoch=2, step=1))
    assert not np.array_equal(a, binarize.train_batch(P, seed=1, epoch=1, step=1))


def test_the_test_set_is_binarised_once_the_same_way() -> None:
    np.testing.assert_array_equal(binarize.fixed_test_set(P), binarize.fixed_test_set(P))
    assert set(np.unique(binarize.fixed_test_set(P))) == {0.0, 1.0}
