"""Shared check: a run stopped after an epoch and resumed ends exactly like an unbroken one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from handgrad.runs import load_arrays, read_metrics


class Stop(Exception):
    """Raised from the log callback to interrupt a run right after an epoch's checkpoint."""


def assert_resume_is_bit_identical(
    train: Callable[..., object],
    resume: Callable[..., object],
    tmp_path: Path,
    stop_epoch: int = 1,
) -> None:
    """``train(out, log=...)`` runs a whole training; ``resume(out, log=...)`` continues one.

    The run in ``cut`` is stopped after epoch ``stop_epoch`` (its summary line starts with
    ``epoch {stop_epoch:3d}``), resumed, and compared with ``full``: same weights to the
    bit and the same metrics except wall-clock seconds.
    """
    quiet = lambda line: None  # noqa: E731
    train(tmp_path / "full", log=quiet)

    def stop(line: str) -> None:
        if line.startswith(f"epoch {stop_epoch:3d}"):
            raise Stop

    with pytest.raises(Stop):
        train(tmp_path / "cut", log=stop)
    assert not (tmp_path / "cut/weights.npz").exists()
    resume(tmp_path / "cut", log=quiet)

    full, cut = (
        load_arrays(tmp_path / "full/weights.npz"),
        load_arrays(tmp_path / "cut/weights.npz"),
    )
    assert full.keys() == cut.keys()
    for k in full:
        np.testing.assert_array_equal(full[k], cut[k])

    def strip(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]

    assert strip(read_metrics(tmp_path / "full")) == strip(read_metrics(tmp_path / "cut"))
