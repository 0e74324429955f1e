"""The multi-task training loop: run directory, metrics, learning, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.experiments.multitask import MultiTaskConfig, train_multitask
from handgrad.models.multitask import MultiTaskNet
from handgrad.training.experiment import RunOptions
from handgrad.training.runs import load_arrays, read_json, read_metrics
from tests.experiments.resume_check import (
    assert_mid_epoch_stop_resumes_bit_identically,
    assert_resume_is_bit_identical,
)

QUIET = RunOptions(log=lambda line: None)
SMALL = {"n_samples": 800, "epochs": 6, "hidden": 16, "lr": 0.01, "batch_size": 32}
KEYS = {f"{s}_{k}" for s in ("train", "test") for k in ("mse_a", "ce_b", "acc_b")}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    lines: list[str] = []
    summary = train_multitask(MultiTaskConfig(**SMALL), out, RunOptions(log=lines.append))
    return out, summary, lines


def test_run_directory_holds_every_file(small_run):
    out, summary, lines = small_run
    names = ("config.json", "metrics.jsonl", "checkpoint.npz", "summary.json", "weights.npz")
    for name in (*names, "curves.png"):
        assert (out / name).is_file(), name
    assert read_json(out / "config.json")["epochs"] == SMALL["epochs"]
    assert read_json(out / "summary.json") == pytest.approx(summary)
    assert len(lines) == SMALL["epochs"] + 1 and "acc" in lines[0]
    assert lines[-1].startswith("final test: task-B accuracy") and str(out) in lines[-1]


def test_metrics_per_epoch_and_learning(small_run):
    out, summary, _ = small_run
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == list(range(1, SMALL["epochs"] + 1))
    assert all(KEYS <= set(r) for r in rows)
    first, last = rows[0], rows[-1]
    assert last["train_ce_b"] < first["train_ce_b"]
    assert last["train_mse_a"] < first["train_mse_a"]
    assert last["train_loss"] < first["train_loss"]
    assert summary["test_acc_b"] == last["test_acc_b"] > 1 / 4 + 0.3
    assert summary["test_mse_a"] == last["test_mse_a"]


def test_weights_load_into_a_fresh_network(small_run):
    out, _, _ = small_run
    cfg = MultiTaskConfig(**SMALL)
    net = MultiTaskNet(cfg.n_features, cfg.hidden, cfg.n_targets, cfg.n_classes, dtype=np.float32)
    net.load_state_dict(load_arrays(out / "weights.npz"))
    assert net.running_mean.any()


def test_same_seed_same_metrics(tmp_path):
    cfg = {**SMALL, "epochs": 2, "optimizer": "sgd", "lr": 0.1}
    runs = [train_multitask(MultiTaskConfig(**cfg), tmp_path / str(i), QUIET) for i in (0, 1)]
    a, b = (read_metrics(tmp_path / str(i)) for i in (0, 1))
    for ra, rb in zip(a, b, strict=True):
        assert {k: ra[k] for k in KEYS} == {k: rb[k] for k in KEYS}
    assert runs[0]["test_acc_b"] == runs[1]["test_acc_b"]


def test_divergence_is_a_one_line_error(tmp_path):
    cfg = MultiTaskConfig(**{**SMALL, "optimizer": "sgd", "lr": 1e6, "epochs": 2})
    with np.errstate(all="ignore"), pytest.raises(HandgradError, match="lower the learning rate"):
        train_multitask(cfg, tmp_path, QUIET)


def test_refuses_to_overwrite_and_rejects_bad_config(tmp_path):
    cfg = MultiTaskConfig(**{**SMALL, "epochs": 1})
    train_multitask(cfg, tmp_path, QUIET)
    with pytest.raises(HandgradError, match="--overwrite"):
        train_multitask(cfg, tmp_path, QUIET)
    train_multitask(cfg, tmp_path, RunOptions(overwrite=True, log=QUIET.log))
    assert len(read_metrics(tmp_path)) == 1
    for bad, match in [
        ({"optimizer": "rmsprop"}, "unknown optimizer"),
        ({"epochs": 0}, "epochs must be"),
    ]:
        with pytest.raises(HandgradError, match=match):
            train_multitask(MultiTaskConfig(**{**SMALL, **bad}), tmp_path / "x", QUIET)


@pytest.mark.parametrize("engine", ["numpy", "fused"])
def test_resume_after_interruption_is_bit_identical(tmp_path, engine):
    from handgrad.experiments.multitask import EXPERIMENT

    config = MultiTaskConfig(epochs=4, n_samples=300, hidden=8, engine=engine)
    assert_resume_is_bit_identical(EXPERIMENT, config, tmp_path, stop_epoch=2)


@pytest.mark.parametrize("engine", ["numpy", "fused"])
def test_stop_inside_an_epoch_resumes_bit_identically(tmp_path, monkeypatch, engine):
    from handgrad.experiments.multitask import EXPERIMENT

    config = MultiTaskConfig(epochs=3, n_samples=300, hidden=8, engine=engine)
    assert_mid_epoch_stop_resumes_bit_identically(EXPERIMENT, config, tmp_path, monkeypatch)
