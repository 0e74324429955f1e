"""The experiment interface: validation from the config's options, the registry, the
optimiser builder."""

from __future__ import annotations

import dataclasses

import pytest

from handgrad.errors import HandgradError
from handgrad.experiments.mlp import EXPERIMENT as MLP_EXPERIMENT
from handgrad.experiments.mlp import MLPConfig
from handgrad.nn.linear import Linear
from handgrad.optim import SGD, Adam, ConstantLR, CosineLR, StepLR
from handgrad.training import registry
from handgrad.training.optimizers import build_optimizer
from handgrad.training.options import flag_of, option_of


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lr": 0.0}, "lr must be a positive number, got 0.0"),
        ({"hidden": [50, 0]}, "hidden must be sizes all ≥ 1, got [50, 0]"),
        ({"dropout": 1.0}, "dropout must be in [0, 1), got 1.0"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'; choose one of ['sgd', 'adam']"),
        ({"activation": "gelu"}, "unknown activation 'gelu'"),
    ],
)
def test_a_config_is_validated_by_its_options(settings, message):
    with pytest.raises(HandgradError) as e:
        MLP_EXPERIMENT.make_config(settings)
    assert message in str(e.value)


def test_the_options_say_flag_and_group():
    fields = {f.name: f for f in dataclasses.fields(MLPConfig)}
    assert (
        flag_of(fields["step"]) == "--lr-step" and flag_of(fields["batch_size"]) == "--batch-size"
    )
    assert option_of(fields["dataset"])["group"] == "data"
    assert option_of(fields["model"])["cli"] is False


def test_register_and_unregister():
    other = dataclasses.replace(MLP_EXPERIMENT, name="mlp2")
    registry.register(other)
    try:
        assert registry.get("mlp2") is other
    finally:
        registry.unregister("mlp2")
    with pytest.raises(HandgradError, match=r"unknown command 'mlp2'; choose one of .*mlp"):
        registry.get("mlp2")


def test_a_bad_module_in_the_environment_is_one_line(monkeypatch):
    monkeypatch.setenv(registry.ENV_VARIABLE, "no_such_module_here")
    with pytest.raises(HandgradError, match="cannot load an experiment from 'no_such_module_here'"):
        registry.experiments()


@pytest.mark.parametrize(
    ("kwargs", "optimizer", "schedule"),
    [
        ({"optimizer": "sgd", "schedule": "step"}, SGD, StepLR),
        ({"optimizer": "adam", "schedule": "cosine", "epochs": 3}, Adam, CosineLR),
        ({"optimizer": "sgd"}, SGD, ConstantLR),
    ],
)
def test_build_optimizer(kwargs, optimizer, schedule):
    opt, sched = build_optimizer(Linear(3, 2).parameters(), lr=0.1, **kwargs)
    assert isinstance(opt, optimizer) and isinstance(sched, schedule) and opt.lr == 0.1


def test_build_optimizer_names_the_choices():
    with pytest.raises(HandgradError, match="unknown schedule 'linear'"):
        build_optimizer(Linear(3, 2).parameters(), optimizer="sgd", lr=0.1, schedule="linear")
