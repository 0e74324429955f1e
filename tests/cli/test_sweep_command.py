"""``handgrad sweep``: exit codes, printed summary, resumability, dry runs and bad input."""

from __future__ import annotations

import pytest

from handgrad.cli import main

SPEC = """
command = "multitask"
seeds = 1
[base]
epochs = 2
n_samples = 200
[grid]
p = [0.0, {bad}]
"""


def _spec(tmp_path, bad="0.2"):
    path = tmp_path / "s.toml"
    path.write_text(SPEC.format(bad=bad))
    return str(path)


def test_sweep_runs_then_skips_finished_trials(tmp_path, capsys):
    spec, out = _spec(tmp_path), str(tmp_path / "out")
    assert main(["sweep", spec, "--out", out, "--jobs", "1"]) == 0
    text = capsys.readouterr().out
    assert "2 setting(s) × 1 seed(s) = 2 trials" in text and "0 finished" in text
    table = text[text.index("  p  seeds") :].splitlines()
    assert table[1].split()[:2] == ["0.0", "1/1"] and table[2].split()[:2] == ["0.2", "1/1"]
    assert f"plot: {out}/sweep.png" in text
    assert main(["sweep", spec, "--out", out]) == 0  # nothing left to run
    assert "2 finished, 0 to resume, 0 failed before, 0 new" in capsys.readouterr().out
    assert main(["sweep", spec, "--out", out, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "done     p=0.0_seed=0",
        "done     p=0.2_seed=0",
    ]


def test_a_failed_trial_is_reported_and_gives_exit_1(tmp_path, capsys):
    # a batch larger than the generated training set fails only when the trial runs
    spec, out = tmp_path / "s.toml", str(tmp_path / "out")
    spec.write_text(SPEC.format(bad="0.2").replace("p = [0.0, 0.2]", "batch_size = [32, 9999]"))
    assert main(["sweep", str(spec), "--out", out, "--jobs", "2", "--no-plot"]) == 1
    text = capsys.readouterr().out
    assert "failed: batch_size=9999_seed=0: HandgradError: batch size 9999 is larger" in text
    assert "1 trial(s) not finished" in text and "plot:" not in text
    assert main(["sweep", str(spec), "--out", out, "--dry-run"]) == 0
    assert "failed   batch_size=9999_seed=0" in capsys.readouterr().out


def test_a_setting_that_breaks_its_rule_is_refused_before_any_trial(tmp_path, capsys):
    spec, out = _spec(tmp_path, bad="1.5"), tmp_path / "out"
    assert main(["sweep", spec, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "setting p=1.5: p must be in [0, 1), got 1.5" in err and err.count("\n") == 1
    assert not (out / "trials").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "local", "--address", "auto"], "--address is for the ray backend"),
        (["--backend", "gpu"], "invalid choice: 'gpu'"),
        (["--jobs", "0"], "must be ≥ 1"),
    ],
)
def test_bad_options_exit_2_in_one_line(tmp_path, capsys, argv, message):
    try:
        code = main(["sweep", _spec(tmp_path), *argv])
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_bad_spec_and_missing_ray_exit_2(tmp_path, capsys, without_ray):
    bad = tmp_path / "bad.toml"
    bad.write_text('command = "multitask"\n[grid]\nhiden = [1]\n')
    assert main(["sweep", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}: grid.hiden: not a setting of multitask")
    assert err.count("\n") == 1
    assert main(["sweep", _spec(tmp_path), "--backend", "ray", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "error: the ray backend needs Ray; install it with pip install 'handgrad[ray]'\n"
    )
