"""``handgrad train NAME --resume RUN``: extend with --epochs, refuse a differing setting
in one line unless --override, and nothing changed by a refused command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import cli_error

from handgrad.cli import main
from handgrad.training.runs import read_json, read_metrics

pytestmark = pytest.mark.usefixtures("logreg_registered")
TRAIN = ["train", "logreg", "--samples", "200", "--no-progress"]


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != ".lock"}


def test_extend_then_refuse_then_override(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "2", "--out", str(run)]) == 0
    assert main([*TRAIN, "--resume", str(run), "--epochs", "4"]) == 0
    assert len(read_metrics(run)) == 4 and read_json(run / "summary.json")["epochs"] == 4
    capsys.readouterr()

    before = _files(run)
    resume = ["train", "logreg", "--resume", str(run)]
    cli_error(capsys, [*resume, "--epochs", "5", "--lr", "0.1"], 2, "--lr 0.1 (the run has 0.5)")
    cli_error(capsys, [*resume, "--epochs", "3"], 2, "already trained 4 epochs")
    cli_error(capsys, [*resume, "--overwrite"], 2, "--overwrite cannot be used with --resume")
    cli_error(capsys, [*TRAIN, "--override"], 2, "--override is for --resume")
    assert _files(run) == before  # a refused command changes nothing

    assert main([*TRAIN, "--resume", str(run), "--epochs", "5", "--lr", "0.1", "--override"]) == 0
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [h["event"] for h in history] == ["start", "resume", "resume"]
    assert history[1]["changes"] == {"epochs": [2, 4]}
    assert history[2]["changes"] == {"lr": [0.5, 0.1], "epochs": [4, 5]}
    assert read_json(run / "config.json")["lr"] == 0.1


def test_an_unknown_option_points_to_the_subcommand_help(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "logreg", "--epoks", "3"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1
    assert "--epoks" in err and "'handgrad train logreg --help'" in err
