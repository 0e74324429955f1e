"""The engine option: auto picks the fastest that loads, a fused engine that cannot load
is a one-line error (library and CLI), and runs record the engine they used."""

from __future__ import annotations

import pytest

from handgrad.cli import main
from handgrad.errors import HandgradError
from handgrad.fast import fused_engine as engine
from handgrad.fast.optim import FusedAdam, FusedSGD
from handgrad.fast.updates import FastSGD
from handgrad.models.mlp import MLP
from handgrad.models.vae import VAE
from handgrad.optim import SGD, Adam

BROKEN = "ImportError: No module named 'numba'"


def test_auto_is_fused_where_numba_loads_and_numpy_elsewhere(monkeypatch):
    assert engine.resolve(None) == engine.resolve("auto") == "fused"
    assert engine.resolve("numpy") == "numpy"
    monkeypatch.setattr(engine, "load_error", lambda: BROKEN)
    assert engine.resolve("auto") == "numpy"


def test_fused_that_cannot_load_and_unknown_names_are_one_line_errors(monkeypatch):
    with pytest.raises(HandgradError, match="unknown engine 'jax'; choose one of auto, numpy"):
        engine.resolve("jax")
    monkeypatch.setattr(engine, "load_error", lambda: BROKEN)
    with pytest.raises(HandgradError) as info:
        engine.resolve("fused")
    message = str(info.value)
    assert "\n" not in message and BROKEN in message and "--engine numpy" in message


def test_fused_engine_switches_optimisers_and_fuses_the_steps_it_knows():
    fused, numpy = engine.get("fused"), engine.get("numpy")
    mlp = MLP([4, 3, 2])
    sgd, adam = SGD(mlp.parameters()), Adam(mlp.parameters())
    numpy.prepare(mlp, sgd, adam)
    assert type(sgd) is FastSGD and numpy.step_for(mlp) is None
    fused.prepare(mlp, sgd, adam)
    assert type(sgd) is FusedSGD and type(adam) is FusedAdam
    step = fused.step_for(mlp)
    assert step is not None and fused.step_for(mlp) is step  # one per model: its buffers
    assert fused.step_for(MLP([4, 3, 2], activation="tanh")) is None
    assert fused.step_for(VAE(4, 2, (3,), decoder="gaussian")) is None


def test_cli_fused_engine_that_cannot_load_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(engine, "load_error", lambda: BROKEN)
    argv = ["train", "vae", "--dataset", "gauss-full", "--epochs", "1", "--engine", "fused"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--engine numpy" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
