"""Every bad input a person could plausibly give: exit code 2, one line, no traceback.

The table runs `handgrad.cli.main` in-process (fast); a few cases also run the real
console script in a subprocess, so what is checked is exactly what a user sees.
"""

import json
import os
import subprocess
import sys

import pytest
from tests.conftest import shared_data_dir

DATA = shared_data_dir()
CASES = [
    # (id, arguments, words the message must contain)
    ("lr negative", ["train", "mlp", "--lr", "-1"], "--lr"),
    ("lr zero", ["train", "mlp", "--lr", "0"], "positive"),
    ("lr not a number", ["train", "mlp", "--lr", "fast"], "expected a number"),
    ("batch size zero", ["train", "mlp", "--batch-size", "0"], "≥ 1"),
    ("epochs negative", ["train", "mlp", "--epochs", "-3"], "--epochs"),
    ("dropout one", ["train", "mlp", "--dropout", "1"], "[0, 1)"),
    ("dropout negative", ["train", "mlp", "--dropout", "-0.2"], "--dropout"),
    ("unknown activation", ["train", "mlp", "--activation", "gelu"], "invalid choice"),
    ("unknown dataset", ["train", "mlp", "--dataset", "cifar10"], "invalid choice"),
    ("hidden size zero", ["train", "mlp", "--hidden", "50,0"], "≥ 1"),
    ("hidden not numbers", ["train", "mlp", "--hidden", "big"], "whole number"),
    ("unknown optimizer", ["train", "mlp", "--optimizer", "rmsprop"], "invalid choice"),
    ("resume missing dir", ["train", "mlp", "--resume", "/nonexistent/run"], "not a handgrad run"),
    ("evaluate missing dir", ["evaluate", "/nonexistent/run"], "not a handgrad run"),
    ("unknown command", ["fly"], "invalid choice"),
    ("multitask lr", ["train", "multitask", "--lr", "-0.1"], "--lr"),
    ("multitask hidden", ["train", "multitask", "--hidden", "0"], "--hidden"),
    ("multitask dropout", ["train", "multitask", "--p", "1.5"], "--p"),
    ("multitask batch", ["train", "multitask", "--batch-size", "0"], "batch"),
    ("vae dataset", ["train", "vae", "--dataset", "spiral"], "invalid choice"),
    ("vae latent", ["train", "vae", "--latent", "0"], "--latent"),
    ("vae beta", ["train", "vae", "--beta", "-1"], "--beta"),
    ("formulas missing", ["check", "formulas", "/nonexistent/f.py"], "not found"),
]


def run_main(args, capsys):
    from handgrad.cli import main

    try:
        code = main(args)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def run_cli(args, env_extra=None):
    env = {**os.environ, "HANDGRAD_DATA": "", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "handgrad", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def assert_clean_error(proc, words):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert words in lines[0], lines[0]


@pytest.mark.parametrize(("args", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(args, words, capsys, monkeypatch):
    monkeypatch.setenv("HANDGRAD_DATA", "")
    assert_clean_error(run_main(args, capsys), words)


@pytest.mark.parametrize("case", [0, 7, 13], ids=lambda i: CASES[i][0])
def test_console_script_shows_no_traceback(case):
    _, args, words = CASES[case]
    assert_clean_error(run_cli(args), words)


needs_data = pytest.mark.skipif(DATA is None, reason="real datasets not found")


@needs_data
def test_batch_larger_than_dataset(tmp_path):
    proc = run_cli(
        [
            "train",
            "mlp",
            "--data-dir",
            str(DATA),
            "--train-subset",
            "100",
            "--batch-size",
            "200",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert_clean_error(proc, "larger than the training set")
    assert not (tmp_path / "r").exists(), "a failed start must not leave a run directory"


@needs_data
def test_weights_that_do_not_fit_and_malformed_config(tmp_path):
    run = tmp_path / "r"
    ok = run_cli(
        [
            "train",
            "mlp",
            "--data-dir",
            str(DATA),
            "--train-subset",
            "500",
            "--epochs",
            "1",
            "--batch-size",
            "50",
            "--out",
            str(run),
            "--no-progress",
        ]
    )
    assert ok.returncode == 0, ok.stderr
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "hidden": [60]}))
    assert_clean_error(run_cli(["evaluate", str(run), "--data-dir", str(DATA)]), "do not fit")
    (run / "config.json").write_text("{not json")
    assert_clean_error(run_cli(["evaluate", str(run), "--data-dir", str(DATA)]), "JSON")


def test_named_data_folder_without_the_files_says_where_to_put_them(tmp_path):
    (tmp_path / "empty").mkdir()
    proc = run_cli(
        ["train", "mlp", "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "r")],
        {"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert_clean_error(proc, "lacks train-images-idx3-ubyte")
    assert "put the files there" in proc.stderr and not (tmp_path / "r").exists()
