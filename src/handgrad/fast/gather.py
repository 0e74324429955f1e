"""Gathering each batch's rows ahead of use, on a background thread: only for speed.

`gather_ahead` yields exactly the batches of the plain formula
`handgrad.training.batching.gather` (tests/fast/test_gather.py proves it).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence

import numpy as np

# Rows gathered per chunk by `gather_ahead`: about this many bytes (a few MB stays in cache).
GATHER_CHUNK_BYTES = 4 << 20


def chunk_rows(
    arrays: Sequence[np.ndarray], batch_size: int, chunk_bytes: int | None = None
) -> int:
    """Rows per chunk of `gather_ahead` (and of a step that gathers its own rows, for
    the same chunks): about ``chunk_bytes`` (default `GATHER_CHUNK_BYTES`) of a row of
    each array, a whole number of batches, at least one."""
    chunk_bytes = GATHER_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    row_bytes = max(1, sum(a[:1].nbytes for a in arrays))
    return max(1, chunk_bytes // row_bytes // batch_size) * batch_size


def gather_ahead(
    arrays: Sequence[np.ndarray],
    order: np.ndarray,
    batch_size: int,
    start: int = 0,
    chunk_bytes: int | None = None,
    whole_chunks: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """The batches ``tuple(a[order[i : i + batch_size]] for a in arrays)`` for i = start,
    start + batch_size, …, gathered ahead of use by a background thread; with
    ``whole_chunks``, the chunks themselves (the rows of several consecutive batches, a
    whole number of them but at the end).

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
    chunk = chunk_rows(arrays, batch_size, chunk_bytes)
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
            if whole_chunks:
                yield item
                continue
            for i in range(0, item[0].shape[0], batch_size):
                yield tuple([a[i : i + batch_size] for a in item])  # a list: faster than a genexpr
    finally:
        stop.set()
        worker.join()
