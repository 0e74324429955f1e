"""fast.gather.gather_ahead gives exactly the batches of the plain batching.gather."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad.fast.gather import gather_ahead
from handgrad.training.batching import gather


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), data=st.data(), chunk_bytes=st.integers(1, 4000))
def test_gather_ahead_gives_the_batches_of_indexing(n, data, chunk_bytes):
    """Every batch equals the plain formula `gather` (indexing each array with the
    batch's indices), whatever the chunk size, from any starting batch."""
    batch_size = data.draw(st.integers(1, n))
    start = batch_size * data.draw(st.integers(0, (n - 1) // batch_size))
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n) * 7
    order = np.random.default_rng(n).permutation(n)
    got = list(gather_ahead((x, y), order, batch_size, start, chunk_bytes))
    expected = list(gather((x, y), order, batch_size, start))
    assert len(got) == len(expected)
    for (xb, yb), (x_plain, y_plain) in zip(got, expected, strict=True):
        np.testing.assert_array_equal(xb, x_plain)
        np.testing.assert_array_equal(yb, y_plain)


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
