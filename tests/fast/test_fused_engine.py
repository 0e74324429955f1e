"""The engine option: auto picks the fastest that loads, a fused engine that cannot load
is a one-line error (library and CLI), and runs record the engine they used."""

from __future__ import annotations

import json

import pytest

from handgrad.cli import main
from handgrad.errors import HandgradError
from handgrad.fast import engine
from handgrad.fast.optim import FusedAdam, FusedSGD
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


def test_fused_optimisers_replace_sgd_and_adam_only_on_the_fused_engine():
    assert engine.optimizer_class(SGD, "fused") is FusedSGD
    assert engine.optimizer_class(Adam, "fused") is FusedAdam
    assert engine.optimizer_class(Adam, "numpy") is Adam


def test_cli_fused_engine_that_cannot_load_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(engine, "load_error", lambda: BROKEN)
    argv = ["train", "vae", "--dataset", "gauss-full", "--epochs", "1", "--engine", "fused"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--engine numpy" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_run_records_the_engine_it_resolved_to(tmp_path, capsys):
    argv = ["train", "vae", "--dataset", "gauss-full", "--epochs", "1", "--hidden", "4"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    assert json.loads((tmp_path / "r" / "config.json").read_text())["engine"] == "fused"
