"""The epoch loop every training command shares: checkpoint, log, and stop safely.

`run_epochs` runs epochs ``state.epoch + 1 … total`` of a model-specific
``train_epoch`` and ``evaluate``. After each epoch it advances the schedule, saves the
checkpoint atomically (the previous one stays until the new one is complete), appends
the metrics line and prints the summary line — in that order, so metrics.jsonl never
runs ahead of the checkpoint a resume starts from.

Stopping: while the loop runs, Ctrl-C (SIGINT) and SIGTERM only *ask* for a stop. The
training step in progress finishes, a checkpoint of that exact point is saved — inside
an epoch too, when the loop draws its batches from `epoch_batches` — and the loop
raises `TrainingInterrupted`, whose message says how to resume. A second Ctrl-C stops
at once, keeping the last saved checkpoint. ``--resume`` then continues bit-identically
to a run that was never stopped.
"""

from __future__ import annotations

import contextlib
import functools
import math
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from handgrad.errors import HandgradError
from handgrad.fast import gather
from handgrad.fast.gather import gather_ahead
from handgrad.fast.threads import SMALL_STEP_MACS, blas_threads, step_macs
from handgrad.training.batching import batch_order
from handgrad.training.checkpoint import CHECKPOINT_NAME, EpochProgress, TrainingState
from handgrad.training.runs import Run

Metrics = dict[str, Any]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during training; the message says how to resume."""


class Diverged(HandgradError):
    """The loss or a gradient became NaN/Inf; the message says where and what to try."""


class _Stopped(Exception):
    """A requested stop, raised once the checkpoint of the stopping point is saved."""


@contextlib.contextmanager
def _signal_handler(signals: tuple[int, ...], handler: Callable) -> Iterator[None]:
    """Install ``handler`` for ``signals`` within the block (main thread only; elsewhere
    signals are left alone), then restore the previous handlers."""
    try:
        previous = {s: signal.signal(s, handler) for s in signals}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def sigterm_as_interrupt() -> contextlib.AbstractContextManager[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt: for a process that supervises
    others (the sweep driver) and must stop at once."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    return _signal_handler((signal.SIGTERM,), handler)


def stop_requests(state: TrainingState) -> contextlib.AbstractContextManager[None]:
    """Within the block, SIGINT and SIGTERM set ``state.stop_requested``; a second SIGINT
    raises KeyboardInterrupt at once."""

    def handler(signum, frame):
        if state.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        state.stop_requested = True

    return _signal_handler((signal.SIGINT, signal.SIGTERM), handler)


def epoch_batches(
    state: TrainingState | None,
    data: Sequence[np.ndarray],
    batch_size: int,
    rng: np.random.Generator,
    sums: dict[str, Any],
) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
    """(step, batch) for each batch of the current epoch, in `minibatches` order: batch
    holds the batch's rows of each array in ``data`` (all with the same number of
    rows), gathered ahead by a background thread (`handgrad.fast.gather.gather_ahead`).

    ``sums`` is the training loop's dict of running totals, updated by the loop after
    each step. If a stop was requested, the point after the finished step — batch order,
    steps done, ``sums`` — is checkpointed before stopping; on resume the epoch
    continues from there, with ``sums`` restored. Without a ``state`` (a bare loop, e.g.
    in a benchmark) this is plain `minibatches`.
    """
    batches = functools.partial(gather_ahead, data, batch_size=batch_size)
    yield from _epoch(state, data[0].shape[0], batch_size, rng, sums, batches, lambda b: 1)


def epoch_chunks(
    state: TrainingState | None,
    data: Sequence[np.ndarray],
    batch_size: int,
    rng: np.random.Generator,
    sums: dict[str, Any],
    gathered: bool = True,
) -> Iterator[tuple[int, tuple[np.ndarray, ...], np.ndarray | None]]:
    """As `epoch_batches`, but (first step, rows, index) for the batches of several steps
    at once, for a training step that runs them in one call
    (`handgrad.fast.Step.train_chunk`): ``rows`` the chunk's rows of each array,
    gathered ahead (`handgrad.fast.gather.gather_ahead` with ``whole_chunks``), and
    ``index`` None; or, not ``gathered`` (for a step that gathers itself,
    ``Step.gathers_rows``), ``rows`` the whole arrays and ``index`` the chunk's row
    numbers. A requested stop is checkpointed after the chunk (a few thousand rows), and
    resumed from there exactly as after a step."""

    def steps(item: tuple[np.ndarray, ...]) -> int:
        return -(-item[0].shape[0] // batch_size)

    n = data[0].shape[0]
    if gathered:
        chunks = functools.partial(gather_ahead, data, batch_size=batch_size, whole_chunks=True)
        for first, rows in _epoch(state, n, batch_size, rng, sums, chunks, steps):
            yield first, rows, None
    else:
        chunks = functools.partial(_index_chunks, data, batch_size)
        for first, (index,) in _epoch(state, n, batch_size, rng, sums, chunks, steps):
            yield first, tuple(data), index


def chunk_steps(
    step: Any,
    state: TrainingState | None,
    data: Sequence[np.ndarray],
    batch_size: int,
    rng: np.random.Generator,
    sums: dict[str, Any],
    prepare: Callable[[int, list[np.ndarray]], list[np.ndarray]] | None = None,
    step_kwargs: dict[str, Any] | None = None,
) -> Iterator[tuple[int, Any, int, Callable[[], list[np.ndarray]]]]:
    """The current epoch trained by ``step`` (`handgrad.fast.Step`) a chunk at a time
    (`epoch_chunks`, ``step.train_chunk(rows, batch_size, index, **step_kwargs)``), then
    reported step by step: (step number, its output record, its number of rows,
    ``batch()`` → its rows of each array of ``data``, for a message about a non-finite
    loss). With ``prepare``, each batch's rows are ``prepare(step number, rows)`` (e.g.
    a fresh binarisation), and the chunks are gathered ahead. The loop updates ``sums``
    as it goes, as for `epoch_batches`; a stop is checkpointed after a chunk."""
    gathered = prepare is not None or not step.gathers_rows
    for first, rows, index in epoch_chunks(state, data, batch_size, rng, sums, gathered):
        if prepare is not None:
            rows = _prepared(rows, batch_size, first, prepare)
        outs = step.train_chunk(rows, batch_size, index, **(step_kwargs or {}))
        n = rows[0].shape[0] if index is None else index.shape[0]
        for j, out in enumerate(outs):
            pick = slice(j * batch_size, (j + 1) * batch_size)
            batch = functools.partial(_rows_of, rows, pick if index is None else index[pick])
            yield first + j, out, min(batch_size, n - j * batch_size), batch


def _prepared(rows: Sequence[np.ndarray], batch_size: int, first: int,
              prepare: Callable[[int, list[np.ndarray]], list[np.ndarray]]) -> tuple:  # fmt: skip
    """The chunk's ``rows`` with each batch's rows replaced by ``prepare(step, rows)``,
    the first batch being step ``first``."""
    n = rows[0].shape[0]
    batches = [prepare(first + j, _rows_of(rows, slice(i, i + batch_size)))
               for j, i in enumerate(range(0, n, batch_size))]  # fmt: skip
    return tuple(np.concatenate(parts) for parts in zip(*batches, strict=True))


def _rows_of(arrays: Sequence[np.ndarray], pick: slice | np.ndarray) -> list[np.ndarray]:
    return [a[pick] for a in arrays]


def _epoch(
    state: TrainingState | None,
    n: int,
    batch_size: int,
    rng: np.random.Generator,
    sums: dict[str, Any],
    items: Callable[..., Iterator[Any]],
    steps: Callable[[Any], int],
) -> Iterator[tuple[int, Any]]:
    """The epoch of `epoch_batches` and `epoch_chunks` over n rows: (first step, item)
    for each of ``items(order, start=row)`` from the epoch's batch order and the row its
    progress has reached; ``steps(item)``: the number of steps an item holds."""
    if state is None:
        progress = EpochProgress(batch_order(n, batch_size, rng))
    elif state.progress is None:
        progress = state.progress = EpochProgress(batch_order(n, batch_size, rng))
    else:
        progress = state.progress
        sums.update(progress.sums)
    todo = items(progress.order, start=progress.step * batch_size)
    with contextlib.closing(todo):
        for item in todo:
            yield progress.step + 1, item
            progress.step += steps(item)
            if state is not None and state.stop_requested:
                progress.sums = dict(sums)
                state.save(state.checkpoint_path)
                raise _Stopped
    if state is not None:
        state.progress = None


def _index_chunks(
    data: Sequence[np.ndarray], batch_size: int, order: np.ndarray, start: int
) -> Iterator[tuple[np.ndarray]]:
    """(order[c : c + chunk],) for c = start, start + chunk, …: the chunks of rows that
    `gather_ahead` would gather from ``data``, as row numbers."""
    chunk = gather.chunk_rows(data, batch_size)
    for c in range(start, order.shape[0], chunk):
        yield (order[c : c + chunk],)


def check_finite(
    value: float, what: str, epoch: int, step: int, where: Callable[..., str], *args: Any
) -> None:
    """Raise `Diverged` if ``value`` is NaN/Inf, naming epoch, step and ``where(*args)``
    (called only then: the check runs every step)."""
    if not math.isfinite(value):
        raise Diverged(
            f"{what} became {value} at epoch {epoch}, step {step}, first seen in "
            f"{where(*args)}; lower the learning rate (--lr) or add batch norm"
        )


def run_epochs(
    state: TrainingState,
    run: Run,
    total_epochs: int,
    train_epoch: Callable[[int], Metrics],
    evaluate: Callable[[], Metrics],
    describe: Callable[[Metrics], str],
    log: Callable[[str], None] = print,
    *,
    batch_size: int | None = None,
) -> list[Metrics]:
    """Train until ``total_epochs`` are done; returns all epochs' metrics.

    ``train_epoch(epoch)`` trains one epoch (drawing its batches from `epoch_batches`)
    and returns its training metrics; ``evaluate()`` returns held-out metrics;
    ``describe(row)`` formats the line printed after each epoch. Each row also gets
    ``epoch``, ``lr`` and ``seconds``. With ``batch_size``, a model whose training
    step is small runs on one BLAS thread (`handgrad.fast.threads.blas_threads`).
    """
    state.checkpoint_path = run.file(CHECKPOINT_NAME)
    state.stop_requested = False
    weights = [p.data for p in state.optimizer.params]
    macs = step_macs(weights, batch_size) if batch_size else SMALL_STEP_MACS  # unknown: as is
    try:
        # Overflow shows up as a non-finite loss, which `check_finite` reports in one
        # line with its place; NumPy's own warnings would only add noise before it.
        with (
            stop_requests(state),
            np.errstate(over="ignore", invalid="ignore"),
            blas_threads(macs),
        ):
            for epoch in range(state.epoch + 1, total_epochs + 1):
                lr = state.optimizer.lr
                start = time.perf_counter()
                row: Metrics = {"epoch": epoch, "lr": lr, **train_epoch(epoch)}
                row["seconds"] = time.perf_counter() - start
                row.update(evaluate())
                state.schedule.step()
                state.epoch = epoch
                state.metrics.append(row)
                state.save(state.checkpoint_path)
                run.log(**row)
                log(describe(row))
                if state.stop_requested and epoch < total_epochs:
                    raise _Stopped
    except _Stopped:
        raise TrainingInterrupted(
            f"stopped {state.position()}, checkpoint saved; continue with --resume {run.path}"
        ) from None
    except Diverged as error:  # say what is left of the run, which the check cannot know
        raise Diverged(f"{error}; {_what_is_kept(state, run)}") from None
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"stopped at once; the checkpoint after epoch {state.epoch} is kept; "
            f"continue with --resume {run.path}"
        ) from None
    return state.metrics


def _what_is_kept(state: TrainingState, run: Run) -> str:
    """The checkpoint a diverged run leaves, in words (none before its first)."""
    if state.checkpoint_path is not None and state.checkpoint_path.exists():
        return f"its last checkpoint is kept ({run.path})"
    return "no checkpoint had been saved yet, so there is nothing to resume"
