"""Trials: expansion into stable ids, states on disk, and running one (skip, fail, resume)."""

from __future__ import annotations

import pytest

from handgrad.errors import HandgradError
from handgrad.experiments.multitask import MultiTaskConfig, train_multitask
from handgrad.sweep.spec import parse_spec
from handgrad.sweep.trials import (
    ERROR_FILE,
    draw,
    expand,
    read_error,
    run_trial,
    setting_id,
    trial_dir,
    trial_state,
)
from handgrad.training.experiment import RunOptions
from handgrad.training.runs import read_json, read_metrics, write_json

TINY = {"epochs": 3, "n_samples": 200}


def _spec(**extra):
    return parse_spec({"command": "multitask", "base": dict(TINY), **extra}, source="t.toml")


def test_grid_times_seeds_in_order_with_stable_ids():
    spec = _spec(seeds=2, grid={"hidden": [4, 8], "p": [0.0, 0.25]})
    trials = expand(spec)
    assert [t.id for t in trials[:3]] == [
        "hidden=4_p=0.0_seed=0",
        "hidden=4_p=0.0_seed=1",
        "hidden=4_p=0.25_seed=0",
    ]
    assert len(trials) == 8 and len({t.id for t in trials}) == 8
    assert trials[-1].settings == {"hidden": 8, "p": 0.25} and trials[-1].seed == 1
    assert trials[-1].config == {**MultiTaskConfig(**TINY, hidden=8, p=0.25, seed=1).__dict__}
    assert [t.id for t in expand(spec)] == [t.id for t in trials]  # same spec, same ids


def test_no_varying_setting_gives_one_base_setting():
    trials = expand(_spec(seeds=[4, 2]))
    assert [(t.id, t.setting) for t in trials] == [("seed=4", "base"), ("seed=2", "base")]


def test_random_draws_cross_the_grid_reproducibly():
    random = {"samples": 3, "seed": 1, "lr": {"loguniform": [1e-4, 1e-1]}}
    spec = _spec(grid={"hidden": [4, 8]}, random=random)
    trials = expand(spec)
    assert len(trials) == 6
    lrs = [t.settings["lr"] for t in trials]
    assert lrs[:3] == lrs[3:]  # the same draws for every grid point
    assert all(1e-4 <= lr <= 1e-1 for lr in lrs) and len(set(lrs)) == 3
    assert all(float(f"{lr:.3g}") == lr for lr in lrs)  # 3 significant digits
    assert [t.settings for t in expand(spec)] == [t.settings for t in trials]


def test_repeated_random_draws_run_once():
    spec = _spec(random={"samples": 20, "hidden": {"choice": [4, 8]}})
    assert sorted(t.setting for t in expand(spec)) == ["hidden=4", "hidden=8"]


def test_draw_kinds_stay_in_range():
    import numpy as np

    from handgrad.sweep.spec import Distribution

    rng = np.random.default_rng(0)
    ints = {draw(Distribution("int", (2, 4)), rng) for _ in range(50)}
    assert ints == {2, 3, 4}
    assert all(0.1 <= draw(Distribution("uniform", (0.1, 0.2)), rng) <= 0.2 for _ in range(20))


def test_setting_ids_are_file_names():
    assert setting_id({}) == "base"
    assert setting_id({"hidden": [256, 128], "activation": "a/b c", "batchnorm": True}) == (
        "hidden=256x128_activation=a-b-c_batchnorm=true"
    )
    long = setting_id({f"k{i}": 0.123456789 for i in range(10)})
    assert len(long) == 119 and "~" in long


def test_a_setting_that_cannot_work_is_named():
    with pytest.raises(HandgradError, match=r"t.toml: setting hidden=0: hidden must be ≥ 1"):
        expand(_spec(grid={"hidden": [0]}))


def test_run_trial_runs_then_skips(tmp_path):
    (trial,) = expand(_spec())
    assert trial_state(tmp_path, trial) == "pending"
    result = run_trial(trial, str(tmp_path))
    assert result.status == "done" and not result.resumed and result.error is None
    path = trial_dir(tmp_path, trial)
    assert trial_state(tmp_path, trial) == "done"
    assert len(read_metrics(path)) == 3 and "epoch   3" in (path / "log.txt").read_text()
    mtime = (path / "summary.json").stat().st_mtime_ns
    again = run_trial(trial, str(tmp_path))
    assert again.status == "done" and again.seconds == 0.0
    assert (path / "summary.json").stat().st_mtime_ns == mtime


def test_a_failing_trial_is_recorded_and_retried(tmp_path):
    # a batch larger than the generated training set fails only when the trial runs
    (trial,) = expand(_spec(base={**TINY, "batch_size": 9999}))
    result = run_trial(trial, str(tmp_path))
    assert result.status == "failed"
    assert result.error.startswith("HandgradError: batch size 9999 is larger than the dataset")
    assert read_error(tmp_path, trial) == result.error
    assert trial_state(tmp_path, trial) == "failed"
    assert "Traceback" in (trial_dir(tmp_path, trial) / "log.txt").read_text()
    # the cause is fixed behind the sweep's back: the next run starts over and succeeds
    (good,) = expand(_spec())
    good_dir = trial_dir(tmp_path, good)
    trial_dir(tmp_path, trial).rename(good_dir)
    assert trial_state(tmp_path, good) == "failed"
    assert run_trial(good, str(tmp_path)).status == "done"
    assert not (good_dir / ERROR_FILE).exists() and trial_state(tmp_path, good) == "done"


def test_an_interrupted_trial_resumes_to_the_same_numbers(tmp_path):
    (trial,) = expand(_spec())
    reference = run_trial(trial, str(tmp_path / "ref"))
    assert reference.status == "done"

    def stop_after_first_epoch(line):
        raise KeyboardInterrupt

    path = trial_dir(tmp_path / "cut", trial)
    with pytest.raises(KeyboardInterrupt):
        train_multitask(
            MultiTaskConfig(**trial.config), path, RunOptions(log=stop_after_first_epoch)
        )
    assert trial_state(tmp_path / "cut", trial) == "partial"
    result = run_trial(trial, str(tmp_path / "cut"))
    assert result.status == "done" and result.resumed
    want = read_json(trial_dir(tmp_path / "ref", trial) / "summary.json")
    got = read_json(path / "summary.json")
    for summary in (want, got):
        summary.pop("train_seconds")
    assert got == want


def test_a_changed_spec_never_mixes_with_old_results(tmp_path):
    (trial,) = expand(_spec())
    run_trial(trial, str(tmp_path))
    (changed,) = expand(_spec(base={**TINY, "lr": 0.01}))
    assert changed.id == trial.id
    with pytest.raises(HandgradError, match=r"other settings \(lr: 0.003 there, 0.01 now\)"):
        trial_state(tmp_path, changed)
    result = run_trial(changed, str(tmp_path))
    assert result.status == "failed" and "the spec changed" in result.error


def test_a_partial_run_without_resume_support_starts_over(tmp_path):
    spec = parse_spec({"command": "vae", "base": {"epochs": 1, "latent": 1}}, source="v.toml")
    (trial,) = expand(spec)
    path = trial_dir(tmp_path, trial)
    path.mkdir(parents=True)
    write_json(path / "config.json", trial.config)  # killed before its first epoch ended
    (path / "metrics.jsonl").write_text('{"epoch": 1, "stale": true}\n')
    assert trial_state(tmp_path, trial) == "partial"
    result = run_trial(trial, str(tmp_path))
    assert result.status == "done" and not result.resumed
    assert [row["epoch"] for row in read_metrics(path)] == [1]
    assert "stale" not in read_metrics(path)[0]
