"""The multi-task commands: check network, check formulas, train multitask (exit codes, output)."""

from __future__ import annotations

from pathlib import Path

from handgrad.cli import main
from handgrad.training.runs import read_json

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_check_network_passes(capsys):
    assert main(["check", "network"]) == 0
    out = capsys.readouterr().out
    assert "theta1B" in out and "FAIL" not in out and out.rstrip().splitlines()[-1].startswith("ok")


def test_check_network_fails_with_an_impossible_tolerance(capsys):
    assert main(["check", "network", "--rtol", "1e-30"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_check_formulas_exit_codes(capsys, tmp_path):
    assert main(["check", "formulas", str(EXAMPLES / "formulas_multitask.py")]) == 0
    assert "16 correct, 0 wrong, 0 error, 0 not given" in capsys.readouterr().out
    assert main(["check", "formulas", str(EXAMPLES / "formulas_mistakes.py")]) == 1
    out = capsys.readouterr().out
    failed = {w[0] for w in map(str.split, out.splitlines()) if w[1:2] == ["wrong"]}
    assert failed == {"theta1A", "b1A", "theta2A", "b2A", "theta1B", "b1B"}
    bad = tmp_path / "bad.py"
    bad.write_text("def grad_b2B(q)\n    return 0\n")
    assert main(["check", "formulas", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and ":1: not valid Python" in err and err.count("\n") == 1
    assert main(["check", "formulas", str(tmp_path / "missing.py")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_train_multitask_writes_a_run(capsys, tmp_path):
    out = tmp_path / "run"
    args = ["train", "multitask", "--epochs", "2", "--hidden", "8", "--out", str(out)]
    assert main([*args, "--optimizer", "sgd", "--lr", "0.05", "--batch-size", "64"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("epoch ") == 2 and "final test: task-B accuracy" in printed
    summary = read_json(out / "summary.json")
    assert {"test_acc_b", "test_mse_a"} <= set(summary)
    assert read_json(out / "config.json")["optimizer"] == "sgd"
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--p", "0.0", "--seed", "3"]) == 0
