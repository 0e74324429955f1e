"""Pieces every training loop shares: mini-batch order and gathering the batches.

The model-specific loops live in `handgrad.experiments`; they all draw batches from
`minibatches`, which shuffles *indices* (never copies of the dataset) with the
caller's seeded Generator, and gather the rows of each batch with `gather_ahead`.
"""

from __future__ import annotations

import contextlib
import queue
import threading
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


# Rows gathered per chunk by `gather_ahead`: about this many bytes (a few MB stays in cache).
GATHER_CHUNK_BYTES = 4 << 20


def gather_ahead(
    arrays: Sequence[np.ndarray],
    order: np.ndarray,
    batch_size: int,
    start: int = 0,
    chunk_bytes: int = GATHER_CHUNK_BYTES,
) -> Iterator[tuple[np.ndarray, ...]]:
    """The batches ``tuple(a[order[i : i + batch_size]] for a in arrays)`` for i = start,
    start + batch_size, …, gathered ahead of use by a background thread.

    Gathering scattered rows is bound by memory latency (a 16-row MNIST batch costs
    about as much as the matrix product it feeds), so a second thread gathers the
    coming rows, about ``chunk_bytes`` at a time, into contiguous chunks while the
    training thread computes. Each batch is a view of a chunk, which is a private copy:
    changing a batch changes neither the data nor any other batch. NumPy releases the
    GIL while it copies, so the two threads overlap. The batches are exactly those of
    indexing in the loop.

    The thread stops when the generator is closed or dropped (e.g. on a training
    stop); an error in it is re-raised here.
    """
    row_bytes = max(1, sum(a[:1].nbytes for a in arrays))
    chunk = max(1, chunk_bytes // row_bytes // batch_size) * batch_size
    chunks: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Put ``item`` on the queue unless a stop comes first; False if stopped."""
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for c in range(start, order.shape[0], chunk):
                rows = order[c : c + chunk]
                if not offer(tuple(np.take(a, rows, axis=0) for a in arrays)):
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            offer(error)
            return
        offer(None)

    worker = threading.Thread(target=produce, name="handgrad-gather", daemon=True)
    worker.start()
    try:
        while (item := chunks.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            for i in range(0, item[0].shape[0], batch_size):
                yield tuple([a[i : i + batch_size] for a in item])  # a list: faster than a genexpr
    finally:
        stop.set()
        worker.join()


# A training step whose matrix products come to fewer multiply-adds than this runs with
# one BLAS thread (`blas_threads`): the reference MLP's step is 0.6 million.
SMALL_STEP_MACS = 1 << 22


def step_macs(weights: Sequence[np.ndarray], batch_size: int) -> int:
    """Multiply-adds of the forward matrix products of one step: batch × Σ in·out over
    the 2-D weights (the backward pass does about twice as many)."""
    return batch_size * sum(w.size for w in weights if w.ndim == 2)


def blas_threads(macs: int) -> contextlib.AbstractContextManager:
    """Within the block, BLAS runs on one thread if a step's products are small
    (``macs`` < `SMALL_STEP_MACS`), else on its default thread count.

    Products that small gain nothing from a second thread, and once a larger product
    (the test-set evaluation after each epoch) has woken BLAS's worker thread, training
    ran measurably slower beside it: the reference MLP's epochs took 0.29–0.30 s with
    it against 0.28 s on one thread (`benchmarks/README.md`).
    """
    if macs >= SMALL_STEP_MACS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
