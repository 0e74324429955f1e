"""Whole sweeps: killed midway, a re-run completes only the missing trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from handgrad.sweep.driver import plan, run_sweep
from handgrad.sweep.spec import load_spec

SPEC = """
command = "multitask"
name = "kill"
seeds = 2
[base]
epochs = 15
n_samples = 500
[grid]
hidden = [4, 8]
"""


def _results(out):
    import csv

    with open(out / "results.csv") as f:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(f)]


def _start(spec_path, out, jobs):
    """``handgrad sweep`` in a process group of its own (a kill reaches its workers too)."""
    command = [sys.executable, "-m", "handgrad", "sweep", str(spec_path), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--jobs", str(jobs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )


def _wait_until_trials(process, trials, n_done):
    """Poll until ``n_done`` trials have finished and another has a checkpoint."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = list(trials.glob("*/summary.json"))
        started = [
            p for p in trials.glob("*/checkpoint.npz") if not (p.parent / "summary.json").exists()
        ]
        if len(done) >= n_done and started:
            return
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.01)
    raise AssertionError("the sweep made no progress in 60 s")


@pytest.mark.slow
def test_killed_sweep_reruns_only_the_missing_trials(tmp_path):
    spec_path = tmp_path / "kill.toml"
    spec_path.write_text(SPEC)
    spec = load_spec(spec_path)
    out = tmp_path / "sweep"
    trials = out / "trials"
    process = _start(spec_path, out, jobs=1)
    _wait_until_trials(process, trials, n_done=1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()

    trials_, states = plan(spec, out)
    finished = {t.id for t in trials_ if states[t.id] == "done"}
    partial = {t.id for t in trials_ if states[t.id] == "partial"}
    assert 1 <= len(finished) < 4, states
    stamps = {i: (trials / i / "summary.json").stat().st_mtime_ns for i in finished}

    outcome = run_sweep(spec, out, jobs=2, progress=False, log=lambda s: None)
    assert outcome.skipped == len(finished)
    assert {r.id for r in outcome.ran} == {t.id for t in trials_} - finished
    assert {r.id for r in outcome.ran if r.resumed} == partial
    assert all(r.status == "done" for r in outcome.ran)
    assert stamps == {i: (trials / i / "summary.json").stat().st_mtime_ns for i in finished}

    reference = run_sweep(spec, tmp_path / "reference", jobs=2, progress=False, log=lambda s: None)
    assert [r.status for r in reference.ran] == ["done"] * 4
    assert _results(out) == _results(tmp_path / "reference")


def test_ctrl_c_stops_the_sweep_at_once(tmp_path):
    spec_path = tmp_path / "int.toml"
    spec_path.write_text(SPEC.replace("epochs = 15", "epochs = 1000"))
    out = tmp_path / "sweep"
    process = _start(spec_path, out, jobs=2)
    _wait_until_trials(process, out / "trials", n_done=0)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = process.communicate(timeout=10)
    assert process.returncode == 130
    assert err.startswith("interrupted: sweep stopped with 0 of 4 trials finished")
    states = plan(load_spec(spec_path), out)[1]
    assert "partial" in states.values() and "done" not in states.values()
