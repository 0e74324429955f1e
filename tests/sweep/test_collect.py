"""Collecting a sweep: per-trial rows, mean ± std per setting, CSV files, text table, plot."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.plots.sweep import plot_sweep
from handgrad.sweep.collect import (
    collect,
    format_value,
    summary_table,
    write_tables,
)
from handgrad.sweep.spec import parse_spec
from handgrad.sweep.trials import ERROR_FILE, expand, trial_dir
from handgrad.training.runs import write_json

SPEC = {
    "command": "multitask",
    "seeds": 3,
    "base": {"epochs": 2},
    "grid": {"hidden": [4, 8], "optimizer": ["sgd", "adam"]},
}


def _fake_run(out, trial, accs):
    """A finished run dir whose per-epoch test accuracy is ``accs``."""
    path = trial_dir(out, trial)
    path.mkdir(parents=True)
    write_json(path / "config.json", trial.config)
    rows = [
        {"epoch": e, "lr": 0.1, "seconds": 1.0, "train_loss": 1 / e, "test_acc_b": a}
        for e, a in enumerate(accs, 1)
    ]
    (path / "metrics.jsonl").write_text("".join(f"{r}\n".replace("'", '"') for r in rows))
    write_json(path / "summary.json", {"epochs": 2, "test_acc_b": accs[-1], "train_seconds": 2.0})


@pytest.fixture
def sweep(tmp_path):
    spec = parse_spec(SPEC)
    trials = expand(spec)
    rng = np.random.default_rng(0)
    finals = {}
    for trial in trials:
        if trial.id == "hidden=8_optimizer=adam_seed=2":
            trial_dir(tmp_path, trial).mkdir(parents=True)
            (trial_dir(tmp_path, trial) / ERROR_FILE).write_text("Diverged: the loss became nan\n")
        elif trial.id == "hidden=8_optimizer=adam_seed=1":
            continue  # never ran
        else:
            accs = [float(rng.uniform(0.3, 0.5)), float(rng.uniform(0.6, 0.9))]
            finals[trial.id] = accs
            _fake_run(tmp_path, trial, accs)
    return tmp_path, spec, trials, finals


def test_rows_and_aggregates(sweep):
    out, spec, trials, finals = sweep
    results = collect(out, spec, trials)
    assert results.keys == ["hidden", "optimizer"]
    assert results.metrics[0] == "test_acc_b" and results.metrics[-1] == "train_seconds"
    statuses = {r["trial"]: r["status"] for r in results.rows}
    assert statuses["hidden=8_optimizer=adam_seed=2"] == "failed"
    assert statuses["hidden=8_optimizer=adam_seed=1"] == "missing"
    assert [r["trial"] for r in results.failed] == ["hidden=8_optimizer=adam_seed=2"]
    first = results.settings[0]
    assert first.setting == "hidden=4_optimizer=sgd" and (first.n, first.n_trials) == (3, 3)
    acc = np.array([finals[f"hidden=4_optimizer=sgd_seed={s}"] for s in range(3)])
    mean, std = first.final["test_acc_b"]
    assert mean == pytest.approx(acc[:, -1].mean()) and std == pytest.approx(acc[:, -1].std(ddof=1))
    epochs, curve_mean, curve_std = first.curves["test_acc_b"]
    assert epochs.tolist() == [1, 2]
    np.testing.assert_allclose(curve_mean, acc.mean(axis=0))
    np.testing.assert_allclose(curve_std, acc.std(axis=0, ddof=1))
    last = results.settings[-1]  # one finished seed: no spread
    assert last.n == 1 and math.isnan(last.final["test_acc_b"][1])


def test_csv_files(sweep):
    out, spec, trials, finals = sweep
    results_csv, summary_csv = write_tables(out, collect(out, spec, trials))
    with open(results_csv) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["trial", "setting", "seed", "hidden", "optimizer", "status"]
    assert list(rows[0])[-1] == "error" and len(rows) == 12
    assert float(rows[0]["test_acc_b"]) == finals[rows[0]["trial"]][-1]  # every digit kept
    assert rows[-1]["error"] == "Diverged: the loss became nan" and rows[-1]["test_acc_b"] == ""
    with open(summary_csv) as f:
        summary = list(csv.DictReader(f))
    assert [s["n"] for s in summary] == ["3", "3", "3", "1"]
    assert summary[-1]["test_acc_b_std"] == "" and "train_loss_mean" in summary[0]


def test_summary_table_text(sweep):
    out, spec, trials, finals = sweep
    text = summary_table(collect(out, spec, trials), spec).splitlines()
    assert text[0].split() == [
        "hidden",
        "optimizer",
        "seeds",
        "test_acc_b",
        "(%)",
        "train_loss",
        "train_seconds",
    ]
    values = [finals[f"hidden=4_optimizer=sgd_seed={s}"][-1] for s in range(3)]
    assert f"{100 * np.mean(values):.2f} ± {100 * np.std(values, ddof=1):.2f}" in text[1]
    assert text[4].split()[:3] == ["8", "adam", "1/3"] and "± —" in text[4]


def test_format_value():
    assert format_value("test_acc", 0.95178) == "95.18"
    assert format_value("train_loss", 0.0123456) == "0.01235"
    assert format_value("test_acc", math.nan) == "—"


def test_plot_numeric_and_categorical_axes(sweep):
    out, spec, trials, _ = sweep
    results = collect(out, spec, trials)
    for keys in (["hidden", "optimizer"], ["optimizer", "hidden"]):
        path = plot_sweep(results.settings, spec.metric, spec.curves, keys, out / "p.png")
        assert path.stat().st_size > 10_000
    with pytest.raises(HandgradError, match="no finished trial"):
        plot_sweep([], spec.metric, spec.curves, [], out / "none.png")
