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
epochs = 40
n_samples = 2000
[grid]
hidden = [4, 8]
"""


def _results(out):
    import csv

    with open(out / "results.csv") as f:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(f)]


@pytest.mark.slow
def test_killed_sweep_reruns_only_the_missing_trials(tmp_path):
    spec_path = tmp_path / "kill.toml"
    spec_path.write_text(SPEC)
    spec = load_spec(spec_path)
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "handgrad", "sweep", str(spec_path), "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--jobs", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )
    trials = out / "trials"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once one trial is done and the next started
        done = list(trials.glob("*/summary.json"))
        started = [
            p for p in trials.glob("*/checkpoint.npz") if not (p.parent / "summary.json").exists()
        ]
        if done and started:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.01)
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
