"""The experiment interface, proven by a fourth experiment defined only in the tests.

tests/experiments/logreg.py is one file; registering it (here through
$HANDGRAD_EXPERIMENTS, which sweep workers inherit) is the only other step. Then it
trains, resumes, sweeps and appears in reproduce and its report, through the same
command line as the built-in experiments.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handgrad.cli import main
from handgrad.reproduce import runner
from handgrad.reproduce.plan import plan_parts, quick_plan, smoke_plan
from handgrad.reproduce.results import PASSED
from handgrad.training import registry
from handgrad.training.experiment import RunOptions
from handgrad.training.runs import read_json, read_metrics
from tests.experiments import logreg
from tests.experiments.resume_check import _assert_same_run

QUICK = ["--epochs", "3", "--samples", "200"]


# What a user does: the module on the import path, its name in $HANDGRAD_EXPERIMENTS.
pytestmark = pytest.mark.usefixtures("logreg_registered")


def test_it_is_registered_like_the_built_in_ones() -> None:
    assert registry.get("logreg") is logreg.EXPERIMENT
    assert {"mlp", "vae", "multitask", "logreg"} <= set(registry.experiments())


def test_train_options_come_from_its_config(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "logreg", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "--spread SPREAD" in text and "std of each blob around its centre" in text
    assert "--resume RUN_DIR" in text and "--data-dir" not in text  # generated data


def test_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "logreg", "--classes", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "--classes: must be ≥ 1" in err


def test_train_then_resume_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", "logreg", *QUICK, "--out", str(full)]) == 0
    assert read_json(full / "summary.json")["test_acc"] > 0.8
    assert "test accuracy" in capsys.readouterr().out

    class Stop(Exception):
        pass

    def stop_after_epoch_1(line: str) -> None:
        if line.startswith("epoch   1"):
            raise Stop

    config = logreg.LogRegConfig(epochs=3, samples=200)
    with pytest.raises(Stop):
        logreg.train_logreg(config, cut, RunOptions(log=stop_after_epoch_1))
    assert len(read_metrics(cut)) == 1
    assert main(["train", "logreg", "--resume", str(cut)]) == 0
    _assert_same_run(full, cut)


def test_evaluate_says_it_cannot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "logreg", *QUICK, "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "logreg run, which evaluate cannot re-evaluate" in err and "mlp" in err


def test_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "logreg.toml"
    spec.write_text('command = "logreg"\nseeds = 2\n[base]\nepochs = 2\n[grid]\nlr = [0.1, 0.5]\n')
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--out", str(out), "--jobs", "2", "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert "2 setting(s) × 2 seed(s) = 4 trials" in text and "test_acc" in text
    config = read_json(out / "trials" / "lr=0.5_seed=1" / "config.json")
    assert (config["model"], config["lr"], config["seed"], config["epochs"]) == (
        "logreg",
        0.5,
        1,
        2,
    )


def test_reproduce_runs_its_part_and_reports_it(tmp_path: Path) -> None:
    assert "logreg" in [p.key for p in plan_parts(quick_plan())]
    result = runner.reproduce(tmp_path, smoke_plan(), only=("logreg",), log=lambda line: None)
    (part,) = result.parts
    assert (part.key, part.status) == ("logreg", PASSED)
    acc = read_json(tmp_path / "logreg" / "summary.json")["test_acc"]
    assert f"{acc:.1%}" in part.message
    report = (tmp_path / "report.md").read_text()
    assert "Other experiments" in report and "3.1 Logistic regression on blobs" in report
