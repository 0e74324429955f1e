"""provenance.json: the engine that ran, versions, cores and the data's checksums."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from handgrad.data.mnist import FILES
from handgrad.fast import engine
from handgrad.training import provenance
from handgrad.training.experiment import RunOptions


def test_environment_names_the_engine_versions_blas_and_cores() -> None:
    env = provenance.environment("fused: fused training step")
    assert env["engine"] == "fused: fused training step"
    assert env["numpy"] == np.__version__ and env["python"].count(".") == 2
    assert env["blas"] and env["blas"][0]["version"]
    assert env["cores"]["usable"] >= 1 and env["cores"]["cpu_count"] >= env["cores"]["usable"]


def test_image_data_lists_each_file_with_its_sha256(tmp_path: Path) -> None:
    for i, name in enumerate(FILES):
        (tmp_path / name).write_bytes(bytes([i]) * 10)
    record = provenance.image_data("mnist", tmp_path)
    assert record["folder"] == str(tmp_path.resolve())
    assert record["files"] == {
        name: hashlib.sha256(bytes([i]) * 10).hexdigest() for i, name in enumerate(FILES)
    }
    assert provenance.image_data("mnist", None)["files"] == {}


def test_a_run_records_the_engine_it_resolved_and_its_data(tmp_path: Path) -> None:
    from handgrad.experiments.multitask import EXPERIMENT, MultiTaskConfig

    config = MultiTaskConfig(epochs=1, n_samples=200)
    EXPERIMENT.train(config, tmp_path, RunOptions(progress=False, log=lambda line: None))
    record = json.loads((tmp_path / provenance.PROVENANCE_NAME).read_text())
    fused = engine.resolve("auto") == "fused"  # what "auto" means on this machine
    assert record["engine"] == ("fused: fused training step" if fused else "numpy: layer by layer")
    assert record["data"] == {**provenance.generated_data("multitask"), **record["data"]}
    assert record["data"]["seed"] == 0 and record["data"]["n_samples"] == 200
    history = json.loads((tmp_path / "history.jsonl").read_text())
    assert history["event"] == "start" and history["provenance"] == record


def test_evaluate_reads_the_folder_the_run_read_and_says_when_it_is_gone(tmp_path: Path) -> None:
    import pytest

    from handgrad.errors import HandgradError
    from handgrad.training.experiment import EvaluateOptions
    from handgrad.training.runs import write_json

    data = tmp_path / "data"
    data.mkdir()
    write_json(
        tmp_path / provenance.PROVENANCE_NAME, {"data": provenance.image_data("mnist", data)}
    )
    assert EvaluateOptions().data_folder(tmp_path) == str(data.resolve())
    assert EvaluateOptions(data_dir="elsewhere").data_folder(tmp_path) == "elsewhere"
    data.rmdir()
    with pytest.raises(HandgradError, match="no longer exists; pass --data-dir"):
        EvaluateOptions().data_folder(tmp_path)
