"""Sweep specs: the format's keys, type checks against the config fields, one-line errors."""

from __future__ import annotations

import pytest
from tests.conftest import one_line_error

from handgrad.errors import HandgradError
from handgrad.sweep.spec import load_spec, parse_spec


def test_full_spec_is_parsed_and_coerced(tmp_path):
    path = tmp_path / "lr.toml"
    path.write_text(
        'command = "mlp"\nseeds = [3, 1]\ncurves = ["train_loss"]\n'
        "[base]\nepochs = 2\nlr = 1\n"
        "[grid]\nhidden = [20, [50, 10]]\nactivation = ['relu', 'tanh']\n"
        "[random]\nsamples = 2\nseed = 5\ndropout = { uniform = [0, 0.5] }\n"
    )
    spec = load_spec(path)
    assert spec.name == "lr" and spec.command.name == "mlp" and spec.seeds == (3, 1)
    assert spec.base == {"epochs": 2, "lr": 1.0} and isinstance(spec.base["lr"], float)
    assert spec.grid["hidden"] == [[20], [50, 10]]  # a bare size means one layer
    assert spec.metric == "test_acc" and spec.curves == ("train_loss",)
    assert spec.random.samples == 2 and spec.random.seed == 5
    assert spec.random.params["dropout"].kind == "uniform"


def test_seed_count_and_defaults():
    spec = parse_spec({"command": "multitask", "seeds": 3})
    assert spec.seeds == (0, 1, 2) and spec.grid == {} and spec.random is None
    assert spec.metric == "test_acc_b" and spec.out is None


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "command: missing"),
        ({"command": "cnn"}, "unknown command 'cnn'"),
        ({"command": "mlp", "gird": {}}, "gird: unknown key"),
        ({"command": "mlp", "seeds": 0}, "seeds: a count of seeds must be ≥ 1"),
        ({"command": "mlp", "seeds": [1, 1]}, "seeds: lists a seed twice"),
        ({"command": "mlp", "seeds": "3"}, "seeds: expected a count"),
        ({"command": "mlp", "grid": {"lr": 0.1}}, "grid.lr: expected a non-empty list"),
        ({"command": "mlp", "grid": {"lr": []}}, "grid.lr: expected a non-empty list"),
        ({"command": "mlp", "grid": {"lr": ["fast"]}}, "grid.lr: expected a number"),
        ({"command": "mlp", "grid": {"hidden": [1.5]}}, "grid.hidden: expected a list of whole"),
        ({"command": "mlp", "grid": {"batchnorm": [1]}}, "grid.batchnorm: expected true or"),
        ({"command": "mlp", "base": {"hiden": 5}}, "base.hiden: not a setting of mlp"),
        ({"command": "mlp", "base": {"seed": 5}}, "base.seed: set by the sweep itself"),
        ({"command": "mlp", "base": [1]}, "base: must be a table"),
        (
            {"command": "mlp", "base": {"lr": 0.1}, "grid": {"lr": [0.1]}},
            "grid.lr: also set in [base]",
        ),
        ({"command": "mlp", "random": {"lr": {"uniform": [0, 1]}}}, "random.samples: expected"),
        (
            {"command": "mlp", "random": {"samples": 2, "lr": {"normal": [0, 1]}}},
            "random.lr: unknown distribution 'normal'",
        ),
        (
            {"command": "mlp", "random": {"samples": 2, "lr": {"loguniform": [0, 1]}}},
            "random.lr: loguniform needs lo > 0",
        ),
        (
            {"command": "mlp", "random": {"samples": 2, "lr": {"uniform": [1, 0]}}},
            "random.lr: uniform needs [lo, hi] with lo ≤ hi",
        ),
        (
            {"command": "mlp", "random": {"samples": 2, "batch_size": {"uniform": [8, 64]}}},
            "random.batch_size: expected a whole number",
        ),
        ({"command": "mlp", "random": {"samples": 2}}, "random: names no setting"),
        ({"command": "mlp", "curves": "train_loss"}, "curves: expected a list"),
    ],
)
def test_bad_specs_name_the_key_in_one_line(data, fragment):
    with pytest.raises(HandgradError) as info:
        parse_spec(data, source="s.toml")
    assert one_line_error(info, fragment).startswith("s.toml: ")


def test_unreadable_files(tmp_path):
    with pytest.raises(HandgradError, match="file not found"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("command = mlp\n")
    with pytest.raises(HandgradError, match="not valid TOML"):
        load_spec(bad)
