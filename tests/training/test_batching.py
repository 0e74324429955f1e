"""minibatches and gather: every index once per epoch, seeded shuffling, drop_last, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad.errors import HandgradError
from handgrad.training.batching import gather, minibatches


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 200), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_covers_every_index_once(n, data, seed):
    batch_size = data.draw(st.integers(1, n))
    batches = list(minibatches(n, batch_size, np.random.default_rng(seed)))
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))
    assert all(len(b) == batch_size for b in batches[:-1])
    assert 1 <= len(batches[-1]) <= batch_size
    assert len(batches) == -(-n // batch_size)


def test_same_seed_same_order_and_shuffled():
    a = np.concatenate(list(minibatches(50, 7, np.random.default_rng(3))))
    b = np.concatenate(list(minibatches(50, 7, np.random.default_rng(3))))
    c = np.concatenate(list(minibatches(50, 7, np.random.default_rng(4))))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, np.arange(50))


def test_one_generator_gives_a_new_order_each_epoch():
    rng = np.random.default_rng(0)
    first = np.concatenate(list(minibatches(30, 4, rng)))
    second = np.concatenate(list(minibatches(30, 4, rng)))
    assert not np.array_equal(first, second)


def test_without_rng_in_order():
    assert [b.tolist() for b in minibatches(5, 2)] == [[0, 1], [2, 3], [4]]


def test_drop_last():
    batches = list(minibatches(10, 3, np.random.default_rng(0), drop_last=True))
    assert [len(b) for b in batches] == [3, 3, 3]
    assert len(set(np.concatenate(batches))) == 9
    assert len(list(minibatches(9, 3, drop_last=True))) == 3


@pytest.mark.parametrize(
    "n, batch_size, match",
    [(10, 0, "batch size must be ≥ 1"), (5, 6, "larger than the dataset"), (0, 1, "empty")],
)
def test_errors(n, batch_size, match):
    with pytest.raises(HandgradError, match=match):
        list(minibatches(n, batch_size))


def test_gather_indexes_each_array_with_each_batch():
    x, y = np.arange(10).reshape(5, 2), np.arange(5) * 3
    got = list(gather((x, y), np.array([4, 0, 3, 1, 2]), 2, start=2))
    assert [b[1].tolist() for b in got] == [[9, 3], [6]]
    assert got[0][0].tolist() == [[6, 7], [2, 3]]
