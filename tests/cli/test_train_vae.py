"""``handgrad train vae``: flags reach the run, per-epoch lines, errors as one line."""

from __future__ import annotations

import json

import pytest

from handgrad.cli import main


def test_trains_a_small_vae(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    argv = [
        "train",
        "vae",
        "--dataset",
        "gauss-full",
        "--epochs",
        "2",
        "--hidden",
        "8,6",
        "--latent",
        "1",
        "--beta",
        "0.5",
        "--lr",
        "0.003",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("epoch") for line in lines) == 2
    assert "entropy" in lines[-1] and "covariance error" in lines[-1]
    config = json.loads((out / "config.json").read_text())
    assert (config["hidden"], config["latent"], config["beta"], config["seed"]) == (
        [8, 6],
        1,
        0.5,
        3,
    )
    summary = json.loads((out / "summary.json").read_text())
    assert {"test_neg_elbo", "entropy", "test_kl", "cov_rel_error"} <= set(summary)
    assert (out / "weights.npz").is_file() and (out / "samples.png").is_file()
    assert main([*argv, "--overwrite"]) == 0


def test_existing_run_needs_overwrite(tmp_path, capsys) -> None:
    argv = [
        "train",
        "vae",
        "--dataset",
        "gauss-diag",
        "--epochs",
        "1",
        "--hidden",
        "4",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--overwrite" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "extra", [["--dataset", "spiral"], ["--latent", "0"], ["--decoder", "poisson"]]
)
def test_bad_flags_exit_2(tmp_path, extra: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["train", "vae", "--out", str(tmp_path), *extra])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("error:")


def test_batch_larger_than_data_is_a_one_line_error(tmp_path, capsys) -> None:
    argv = ["train", "vae", "--batch-size", "20000", "--epochs", "1", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert "--batch-size" in capsys.readouterr().err
