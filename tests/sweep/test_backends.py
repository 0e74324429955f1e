"""Backends end to end: a local process pool and a local Ray instance give the same table."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path

import pytest

from handgrad.errors import HandgradError
from handgrad.sweep import backends
from handgrad.sweep.driver import run_sweep
from handgrad.sweep.spec import parse_spec

TINY_SPEC = {
    "command": "multitask",
    "name": "tiny",
    "seeds": 2,
    "base": {"epochs": 3, "n_samples": 200},
    "grid": {"hidden": [4, 8]},
}


def results_without_timing(out: Path) -> list[dict[str, str]]:
    """results.csv of a sweep minus its wall-clock columns (which differ run to run)."""
    with open(out / "results.csv") as f:
        return [{k: v for k, v in row.items() if "seconds" not in k} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    outcome = run_sweep(parse_spec(TINY_SPEC), out, jobs=2, progress=False, log=lambda s: None)
    return out, outcome


def test_local_backend_end_to_end(local_sweep):
    out, outcome = local_sweep
    assert [r.status for r in outcome.ran] == ["done"] * 4 and outcome.skipped == 0
    rows = results_without_timing(out)
    assert [r["trial"] for r in rows] == [
        "hidden=4_seed=0",
        "hidden=4_seed=1",
        "hidden=8_seed=0",
        "hidden=8_seed=1",
    ]
    assert all(r["status"] == "done" and 0 <= float(r["test_acc_b"]) <= 1 for r in rows)
    assert rows[0]["test_acc_b"] != rows[1]["test_acc_b"]  # seeds differ
    assert (out / "summary.csv").is_file() and (out / "sweep.png").stat().st_size > 10_000
    for row in rows:
        assert (out / "trials" / row["trial"] / "weights.npz").is_file()


def test_local_workers_get_one_thread_each(monkeypatch):
    monkeypatch.setattr(backends, "default_jobs", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    seen = {}

    class FakeExecutor:  # records what the workers would inherit, then stops
        def __init__(self, jobs, **kwargs):
            seen["jobs"] = jobs
            seen["env"] = os.environ.get("OMP_NUM_THREADS")
            raise RuntimeError("no workers in this test")

    monkeypatch.setattr(backends, "ProcessPoolExecutor", FakeExecutor)
    with pytest.raises(RuntimeError, match="no workers"):
        list(backends.run_local([object()] * 3, "out", None, jobs=2))
    assert seen == {"jobs": 2, "env": "2"} and "OMP_NUM_THREADS" not in os.environ


def test_ray_missing_is_one_line(without_ray):
    with pytest.raises(HandgradError) as info:
        run_sweep(parse_spec(TINY_SPEC), "unused", backend="ray", log=lambda s: None)
    assert str(info.value) == (
        "the ray backend needs Ray; install it with pip install 'handgrad[ray]'"
    )


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_backend_gives_the_same_table(local_sweep, tmp_path):
    out, _ = local_sweep
    outcome = run_sweep(
        parse_spec(TINY_SPEC),
        tmp_path,
        backend="ray",
        jobs=2,
        progress=False,
        log=lambda s: None,
    )
    assert sorted(r.status for r in outcome.ran) == ["done"] * 4
    assert results_without_timing(tmp_path) == results_without_timing(out)
