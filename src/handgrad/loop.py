"""The epoch loop every training command shares: checkpoint, log, and stop safely.

`run_epochs` runs epochs ``state.epoch + 1 … total`` of a model-specific
``train_epoch`` and ``evaluate``. After each epoch it advances the schedule, saves the
checkpoint atomically (the previous one stays until the new one is complete), appends
the metrics line and prints the summary line — in that order, so metrics.jsonl never
runs ahead of the checkpoint a resume starts from.

SIGTERM is turned into `KeyboardInterrupt` while the loop runs, so ``kill`` and
Ctrl-C both stop at once with the last completed epoch's checkpoint intact; the
caller (the CLI) reports how to resume.
"""

from __future__ import annotations

import contextlib
import math
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

from handgrad.checkpoint import CHECKPOINT_NAME, TrainingState
from handgrad.errors import HandgradError
from handgrad.runs import Run

Metrics = dict[str, Any]


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only)."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during training; the message says how to resume."""


class Diverged(HandgradError):
    """The loss or a gradient became NaN/Inf; the message says where and what to try."""


def check_finite(value: float, what: str, epoch: int, step: int, where: Callable[[], str]) -> None:
    """Raise `Diverged` if ``value`` is NaN/Inf, naming epoch, step and ``where()``."""
    if not math.isfinite(value):
        raise Diverged(
            f"{what} became {value} at epoch {epoch}, step {step}, first seen in {where()}; "
            "lower the learning rate (--lr) or add batch norm; the last good checkpoint is kept"
        )


def run_epochs(
    state: TrainingState,
    run: Run,
    total_epochs: int,
    train_epoch: Callable[[int], Metrics],
    evaluate: Callable[[], Metrics],
    describe: Callable[[Metrics], str],
    log: Callable[[str], None] = print,
) -> list[Metrics]:
    """Train until ``total_epochs`` are done; returns all epochs' metrics.

    ``train_epoch(epoch)`` trains one epoch and returns its training metrics;
    ``evaluate()`` returns held-out metrics; ``describe(row)`` formats the line printed
    after each epoch. Each row also gets ``epoch``, ``lr`` and ``seconds``.
    """
    try:
        with sigterm_as_interrupt():
            for epoch in range(state.epoch + 1, total_epochs + 1):
                lr = state.optimizer.lr
                start = time.perf_counter()
                row: Metrics = {"epoch": epoch, "lr": lr, **train_epoch(epoch)}
                row["seconds"] = time.perf_counter() - start
                row.update(evaluate())
                state.schedule.step()
                state.epoch = epoch
                state.metrics.append(row)
                state.save(run.file(CHECKPOINT_NAME))
                run.log(**row)
                log(describe(row))
    except KeyboardInterrupt:
        raise TrainingInterrupted(
            f"stopped after {state.epoch} complete epoch(s); continue with --resume {run.path}"
        ) from None
    return state.metrics
