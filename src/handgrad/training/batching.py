"""Batching: the order in which a training loop visits the examples, and its batches.

The model-specific loops live in `handgrad.experiments`; they all draw batches through
`handgrad.training.loop.epoch_batches`, in the order of `batch_order`, which shuffles
*indices* (never copies of the dataset) with the caller's seeded Generator. `gather` is
the plain formula of a batch; `handgrad.fast.gather.gather_ahead` gives the same batches
from a background thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from handgrad.errors import HandgradError


def minibatches(
    n: int, batch_size: int, rng: np.random.Generator | None = None, *, drop_last: bool = False
) -> Iterator[np.ndarray]:
    """Index arrays covering range(n) in batches; shuffled when ``rng`` is given.

    The last batch is smaller when batch_size does not divide n (dropped if ``drop_last``).
    """
    order = batch_order(n, batch_size, rng)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def batch_order(n: int, batch_size: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """The order in which `minibatches` visits range(n): a permutation drawn from ``rng``
    (the identity without one), after checking that ``batch_size`` fits ``n``."""
    if n < 1:
        raise HandgradError(f"cannot draw batches from an empty dataset (n = {n}); check the data")
    if batch_size < 1:
        raise HandgradError(f"batch size must be ≥ 1, got {batch_size}")
    if batch_size > n:
        raise HandgradError(
            f"batch size {batch_size} is larger than the dataset ({n} examples); use ≤ {n}"
        )
    return rng.permutation(n) if rng is not None else np.arange(n)


def gather(
    arrays: Sequence[np.ndarray], order: np.ndarray, batch_size: int, start: int = 0
) -> Iterator[tuple[np.ndarray, ...]]:
    """The batches ``tuple(a[order[i : i + batch_size]] for a in arrays)`` for i = start,
    start + batch_size, …: each array (n, …) indexed by one batch of ``order`` (n,)."""
    for i in range(start, order.shape[0], batch_size):
        rows = order[i : i + batch_size]
        yield tuple(a[rows] for a in arrays)
