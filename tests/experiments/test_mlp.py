"""End-to-end MLP runs on a small generated dataset (the real-MNIST run is a benchmark)."""

import json

import numpy as np
import pytest

from handgrad.data.mnist import ImageDataset, Split
from handgrad.errors import HandgradError
from handgrad.experiments.mlp import EXPERIMENT, MLPConfig, evaluate_run, train_mlp
from handgrad.training.experiment import RunOptions
from handgrad.training.runs import load_arrays, read_metrics
from tests.experiments.resume_check import (
    _assert_same_run,
    assert_mid_epoch_stop_resumes_bit_identically,
    assert_resume_is_bit_identical,
)


def blobs(n: int, seed: int) -> Split:
    """Three well-separated classes of 4x5 'images' with noise."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(99).random((3, 20))
    y = rng.integers(0, 3, n)
    x = centers[y] + 0.15 * rng.standard_normal((n, 20))
    return Split(x=np.clip(x, 0, 1).astype(np.float32), y=y.astype(np.int64))


@pytest.fixture
def data(tmp_path):
    return ImageDataset(
        name="blobs",
        train=blobs(300, 0),
        test=blobs(100, 1),
        val=None,
        classes=["a", "b", "c"],
        image_shape=(4, 5),
        source=tmp_path,
    )


QUIET = RunOptions(progress=False, log=lambda line: None)


def small_config(**kw):
    # the data is passed in (`data`); the config's dataset must still be a known one
    base = dict(hidden=[16], lr=0.2, batch_size=10, epochs=4, step=2, dataset="mnist")
    base.update(kw)
    return MLPConfig(**base)


def test_run_writes_everything_and_learns(tmp_path, data):
    out = tmp_path / "run"
    summary = train_mlp(small_config(), out, QUIET, data=data)
    assert summary["test_acc"] > 0.9
    for name in [
        "config.json",
        "metrics.jsonl",
        "summary.json",
        "weights.npz",
        "checkpoint.npz",
        "loss_curve.png",
        "confusion_matrix.png",
        "misclassified.png",
    ]:
        assert (out / name).is_file(), name
    rows = read_metrics(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert [r["lr"] for r in rows] == pytest.approx([0.2, 0.2, 0.02, 0.02])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert json.loads((out / "config.json").read_text())["hidden"] == [16]


@pytest.mark.parametrize("engine", ["numpy", "fused"])
def test_same_seed_is_bit_identical(tmp_path, data, engine):
    for name in "ab":
        train_mlp(small_config(engine=engine, momentum=0.5), tmp_path / name, QUIET, data=data)
    wa, wb = load_arrays(tmp_path / "a/weights.npz"), load_arrays(tmp_path / "b/weights.npz")
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])


@pytest.mark.parametrize(
    ("optimizer", "engine"), [("sgd", "numpy"), ("adam", "numpy"), ("sgd", "fused")]
)
def test_resume_after_interruption_is_bit_identical(tmp_path, data, optimizer, engine):
    config = small_config(
        optimizer=optimizer,
        lr=0.01 if optimizer == "adam" else 0.2,
        momentum=0.0,
        dropout=0.2 if engine == "numpy" else 0.0,  # the fused step: ReLU MLPs only
        engine=engine,
    )
    assert_resume_is_bit_identical(EXPERIMENT, config, tmp_path, stop_epoch=2, data=data)


def test_refuses_to_overwrite_a_run(tmp_path, data):
    train_mlp(small_config(epochs=1), tmp_path / "r", QUIET, data=data)
    with pytest.raises(HandgradError, match="already holds a run"):
        train_mlp(small_config(epochs=1), tmp_path / "r", RunOptions(progress=False), data=data)


def test_resume_without_checkpoint_is_a_clean_error(tmp_path, data):
    with pytest.raises(HandgradError, match="not a handgrad run directory"):
        EXPERIMENT.resume(tmp_path)
    train_mlp(small_config(epochs=1), tmp_path / "r", QUIET, data=data)
    (tmp_path / "r/checkpoint.npz").unlink()
    with pytest.raises(HandgradError, match=r"no checkpoint\.npz"):
        EXPERIMENT.resume(tmp_path / "r", data=data)


def test_batch_larger_than_dataset(tmp_path, data):
    with pytest.raises(HandgradError, match="larger than the training set"):
        train_mlp(
            small_config(batch_size=301), tmp_path / "r", RunOptions(progress=False), data=data
        )


def test_divergence_is_reported(tmp_path, data):
    with pytest.raises(HandgradError, match="lower the learning rate"):
        train_mlp(small_config(lr=1e30, optimizer="sgd"), tmp_path / "r", QUIET, data=data)


def test_evaluate_real_mnist_run(tmp_path, shared_data):
    """Train briefly on real MNIST, then `evaluate_run` reproduces the saved accuracy."""
    config = MLPConfig(epochs=1, train_subset=3000, batch_size=32)
    summary = train_mlp(
        config, tmp_path / "m", RunOptions(data_dir=shared_data, progress=False, log=lambda s: None)
    )
    assert summary["test_acc"] > 0.8
    # without --data-dir: read from the folder the run read (its provenance.json)
    assert evaluate_run(tmp_path / "m")["test_acc"] == summary["test_acc"]


@pytest.mark.parametrize(
    ("optimizer", "engine"),
    [("sgd", "numpy"), ("adam", "numpy"), ("adam", "fused"), ("sgd", "fused")],
)
def test_stop_inside_an_epoch_resumes_bit_identically(
    tmp_path, data, optimizer, engine, monkeypatch
):
    config = small_config(
        optimizer=optimizer,
        lr=0.01 if optimizer == "adam" else 0.2,
        dropout=0.2 if engine == "numpy" else 0.0,
        engine=engine,
    )
    assert_mid_epoch_stop_resumes_bit_identically(
        EXPERIMENT, config, tmp_path, monkeypatch, data=data
    )


def test_extending_a_finished_run_equals_a_straight_run(tmp_path, data):
    """3 epochs, then --resume --epochs 5: bit-identical to 5 epochs at once (the StepLR
    decay at epoch 4 included), and the history says where the run was extended."""
    from handgrad.training.runs import read_json

    train_mlp(small_config(epochs=5), tmp_path / "straight", QUIET, data=data)
    train_mlp(small_config(epochs=3), tmp_path / "extended", QUIET, data=data)
    EXPERIMENT.resume(tmp_path / "extended", QUIET, changes={"epochs": 5}, data=data)
    _assert_same_run(tmp_path / "straight", tmp_path / "extended")
    history = [json.loads(line) for line in (tmp_path / "extended/history.jsonl").open()]
    assert [h["event"] for h in history] == ["start", "resume"]
    assert history[1]["after_epoch"] == 3 and history[1]["changes"] == {"epochs": [3, 5]}
    assert read_json(tmp_path / "extended/config.json")["epochs"] == 5
    assert read_json(tmp_path / "extended/summary.json")["epochs"] == 5


def test_resume_refuses_a_differing_setting_unless_overridden(tmp_path, data):
    run = tmp_path / "run"
    train_mlp(small_config(epochs=2), run, QUIET, data=data)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    with pytest.raises(HandgradError, match=r"--lr 0\.5 \(the run has 0\.2\).*--override"):
        EXPERIMENT.resume(run, QUIET, changes={"epochs": 3, "lr": 0.5}, data=data)
    with pytest.raises(HandgradError, match="already trained 2 epochs; --epochs 1"):
        EXPERIMENT.resume(run, QUIET, changes={"epochs": 1}, data=data)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before
    EXPERIMENT.resume(run, QUIET, changes={"epochs": 3, "lr": 0.5}, override=True, data=data)
    last = json.loads((run / "history.jsonl").read_text().splitlines()[-1])
    assert last["changes"] == {"lr": [0.2, 0.5], "epochs": [2, 3]}
    assert json.loads((run / "config.json").read_text())["lr"] == 0.5
    assert len(read_metrics(run)) == 3
