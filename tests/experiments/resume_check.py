"""Shared checks: a run stopped (after an epoch, or inside one) and resumed ends exactly
like an unbroken one."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from handgrad.training.experiment import Experiment, RunOptions
from handgrad.training.loop import TrainingInterrupted
from handgrad.training.runs import load_arrays, read_metrics


class Stop(Exception):
    """Raised from the log callback to interrupt a run right after an epoch's checkpoint."""


def _train_and_resume(
    experiment: Experiment, config: Any, data: dict[str, Any]
) -> tuple[Callable[..., object], Callable[..., object]]:
    """``train(out, log=...)`` runs a whole training of ``config``; ``resume(out, log=...)``
    continues one (``data``: passed to the experiment's train function)."""

    def train(out: Path, log: Callable[[str], None]) -> object:
        return experiment.train(config, out, RunOptions(progress=False, log=log), **data)

    def resume(out: Path, log: Callable[[str], None]) -> object:
        return experiment.resume(out, RunOptions(progress=False, log=log), **data)

    return train, resume


def assert_resume_is_bit_identical(
    experiment: Experiment, config: Any, tmp_path: Path, stop_epoch: int = 1, **data: Any
) -> None:
    """A run of ``experiment`` with ``config`` stopped after an epoch and resumed ends
    exactly like an unbroken one.

    The run in ``cut`` is stopped after epoch ``stop_epoch`` (its summary line starts with
    ``epoch {stop_epoch:3d}``), resumed, and compared with ``full``: same weights to the
    bit and the same metrics except wall-clock seconds.
    """
    train, resume = _train_and_resume(experiment, config, data)
    quiet = lambda line: None  # noqa: E731
    train(tmp_path / "full", log=quiet)

    def stop(line: str) -> None:
        if line.startswith(f"epoch {stop_epoch:3d}"):
            raise Stop

    with pytest.raises(Stop):
        train(tmp_path / "cut", log=stop)
    assert not (tmp_path / "cut/weights.npz").exists()
    resume(tmp_path / "cut", log=quiet)

    _assert_same_run(tmp_path / "full", tmp_path / "cut")


def _assert_same_run(a: Path, b: Path) -> None:
    """Same final weights to the bit, same metrics but for wall-clock seconds."""
    wa, wb = load_arrays(a / "weights.npz"), load_arrays(b / "weights.npz")
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])

    def strip(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert strip(read_metrics(a)) == strip(read_metrics(b))


def assert_mid_epoch_stop_resumes_bit_identically(
    experiment: Experiment,
    config: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    epoch: int = 2,
    step: int = 3,
    **data: Any,
) -> None:
    """SIGTERM arrives during step ``step`` of epoch ``epoch`` of a run of ``experiment``
    (whose loop draws batches from its module's ``epoch_batches``, or chunks of three
    batches from `handgrad.training.loop.chunk_steps`): the run must stop with a checkpoint of that
    point (the end of the chunk holding the step), and resuming must end exactly like
    an uninterrupted run."""
    from handgrad.fast import gather
    from handgrad.training import loop

    train, resume = _train_and_resume(experiment, config, data)
    module = sys.modules[experiment.train.__module__]
    quiet = lambda line: None  # noqa: E731
    train(tmp_path / "full", log=quiet)

    if hasattr(module, "chunk_steps"):  # its loop trains chunk by chunk
        module, name = loop, "epoch_chunks"
    else:
        name = "epoch_batches"
    real = getattr(module, name)
    calls, stopped_after = {"epochs": 0}, {}

    def signalling(state, arrays, batch_size, *args, **kwargs):
        calls["epochs"] += 1
        row_bytes = sum(a[:1].nbytes for a in arrays)  # chunks of 3 batches
        monkeypatch.setattr(gather, "GATHER_CHUNK_BYTES", 3 * batch_size * row_bytes)
        for s, *item in real(state, arrays, batch_size, *args, **kwargs):
            yield s, *item
            rows = item[0][0] if len(item) == 1 or item[1] is None else item[1]  # or index
            last = s + (-(-rows.shape[0] // batch_size) - 1 if name == "epoch_chunks" else 0)
            if calls["epochs"] == epoch and s <= step <= last:
                stopped_after["steps"] = last
                os.kill(os.getpid(), signal.SIGTERM)  # handled as a stop request

    monkeypatch.setattr(module, name, signalling)
    with pytest.raises(TrainingInterrupted) as stop:
        train(tmp_path / "cut", log=quiet)
    assert f"after epoch {epoch - 1} and {stopped_after['steps']} steps of the next" in str(
        stop.value
    )
    monkeypatch.setattr(module, name, real)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    resume(tmp_path / "cut", log=quiet)
    _assert_same_run(tmp_path / "full", tmp_path / "cut")
