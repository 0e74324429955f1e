"""minibatches: every index once per epoch, seeded shuffling, drop_last, errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad.errors import HandgradError
from handgrad.train import gather_ahead, minibatches


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


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), data=st.data(), chunk_bytes=st.integers(1, 4000))
def test_gather_ahead_gives_the_batches_of_indexing(n, data, chunk_bytes):
    """Every batch equals indexing each array with the batch's indices, whatever the
    chunk size, from any starting batch."""
    batch_size = data.draw(st.integers(1, n))
    start = batch_size * data.draw(st.integers(0, (n - 1) // batch_size))
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n) * 7
    order = np.random.default_rng(n).permutation(n)
    got = list(gather_ahead((x, y), order, batch_size, start, chunk_bytes))
    expected = [order[i : i + batch_size] for i in range(start, n, batch_size)]
    assert len(got) == len(expected)
    for (xb, yb), idx in zip(got, expected, strict=True):
        np.testing.assert_array_equal(xb, x[idx])
        np.testing.assert_array_equal(yb, y[idx])


def _gather_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "handgrad-gather"}


def test_gather_ahead_stops_its_thread_when_closed_early():
    before = _gather_threads()
    x = np.zeros((1000, 4), dtype=np.float32)
    batches = gather_ahead((x,), np.arange(1000), 2, chunk_bytes=64)  # the queue fills up
    next(batches)
    started = _gather_threads() - before
    assert len(started) == 1
    batches.close()
    assert not any(t.is_alive() for t in started)


def test_gather_ahead_reraises_the_threads_error():
    before = _gather_threads()
    x = np.zeros((5, 2))
    with pytest.raises(IndexError):
        list(gather_ahead((x,), np.array([0, 1, 9]), 2))
    assert not any(t.is_alive() for t in _gather_threads() - before)


def test_step_macs_counts_the_forward_products():
    from handgrad.train import step_macs

    weights = [np.zeros((50, 784)), np.zeros(50), np.zeros((10, 50)), np.zeros(10)]
    assert step_macs(weights, 16) == 16 * (784 * 50 + 50 * 10)


def test_blas_threads_limits_blas_to_one_thread_for_small_steps_only():
    from threadpoolctl import threadpool_info

    from handgrad.train import SMALL_STEP_MACS, blas_threads

    def blas_threads_now() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads_now()
    with blas_threads(SMALL_STEP_MACS - 1):
        assert blas_threads_now() <= {1}
    assert blas_threads_now() == before
    with blas_threads(SMALL_STEP_MACS):
        assert blas_threads_now() == before
