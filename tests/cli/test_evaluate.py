"""``handgrad evaluate RUN``: every experiment, evaluation.json, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import cli_error

from handgrad.cli import main
from handgrad.training.runs import read_json


def test_multitask_run(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "multitask", "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--no-progress"]) == 0
    assert "task-B accuracy" in capsys.readouterr().out
    evaluation, summary = read_json(run / "evaluation.json"), read_json(run / "summary.json")
    assert evaluation["test_acc_b"] == summary["test_acc_b"]
    cli_error(capsys, ["evaluate", str(run), "--iwae", "10"], 2, "likelihood")
    (run / "weights.npz").unlink()
    cli_error(capsys, ["evaluate", str(run)], 2, "has no weights.npz")


def test_vae_run_with_iwae(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    train = ["train", "vae", "--hidden", "8", "--epochs", "1", "--out", str(run)]
    assert main(train) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--iwae", "20", "--limit", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "IWAE, k = 20" in out and "(300 test examples)" in out
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["iwae_k"] == 20 and evaluation["n_test"] == 300
    assert evaluation["test_neg_log_likelihood"] < evaluation["test_neg_elbo"]
