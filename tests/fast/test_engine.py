"""The engines: one step interface on every engine, the same run on either (same random
draws), auto picks the fastest that loads, and a fused engine that cannot load is a
one-line error (library and CLI)."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.cli import main
from handgrad.errors import HandgradError
from handgrad.fast import PlainStep, engine
from handgrad.fast.kernels.adam import adam_step
from handgrad.fast.kernels.sgd import sgd_step
from handgrad.fast.steps.mlp import FusedMLPStep
from handgrad.fast.steps.multitask import FusedMultiTaskStep
from handgrad.fast.steps.vae import FusedVAEStep
from handgrad.models.iwae import IWAE
from handgrad.models.mlp import MLP
from handgrad.models.multitask import MultiTaskNet
from handgrad.models.vae import VAE
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.optim import SGD, Adam

BROKEN = "ImportError: No module named 'numba'"


def test_auto_is_fused_where_numba_loads_and_numpy_elsewhere(monkeypatch):
    assert engine.resolve(None) == engine.resolve("auto") == "fused"
    assert engine.resolve("numpy") == "numpy"
    assert engine.get("numpy") is engine.ENGINES["numpy"]
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


def test_cli_fused_engine_that_cannot_load_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(engine, "load_error", lambda: BROKEN)
    argv = ["train", "vae", "--dataset", "gauss-full", "--epochs", "1", "--engine", "fused"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--engine numpy" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_each_engine_gives_a_step_and_the_fused_one_fuses_what_it_knows():
    numpy, fused = engine.get("numpy"), engine.get("fused")
    mlp, xent = MLP([4, 3, 2]), SoftmaxCrossEntropy()
    sgd = SGD(mlp.parameters(), momentum=0.9)
    plain = numpy.step(mlp, xent, sgd)
    assert type(plain) is PlainStep and plain.used == "numpy: layer by layer"
    step = fused.step(mlp, xent, sgd)
    assert type(step) is FusedMLPStep and step.used == "fused: fused training step"
    assert step._update is sgd_step
    vae = VAE(4, 2, (3,), decoder="bernoulli")
    adam = Adam(vae.parameters())
    assert type(fused.step(vae, None, adam)) is FusedVAEStep
    assert type(fused.step(MultiTaskNet(3, 4, 2, 3), None, adam)) is FusedMultiTaskStep
    for other, loss in [(MLP([4, 3, 2], activation="tanh"), xent), (IWAE(vae, 3), None),
                        (VAE(4, 2, (3,), decoder="gaussian"), None)]:  # fmt: skip
        step = fused.step(other, loss, adam)
        assert type(step) is PlainStep and step._update is adam_step  # the compiled update
        assert step.used == "fused: layer by layer"


def mlp_case(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 12)).astype(dtype), rng.integers(0, 5, 40)
    model = MLP([12, 8, 5], seed=1, dtype=dtype)
    opt = SGD(model.parameters(), lr=0.1)
    return (
        model,
        SoftmaxCrossEntropy(),
        opt,
        lambda i: (x[8 * i : 8 * i + 8], y[8 * i : 8 * i + 8]),
        {},
    )


def vae_case(dtype):
    x = np.random.default_rng(4).random((40, 10)).astype(dtype)
    vae = VAE(10, 3, (7,), decoder="bernoulli", rng=1, dtype=dtype)
    rng = np.random.default_rng(8)  # ε: drawn by each engine from the same Generator
    return (
        vae,
        None,
        Adam(vae.parameters(), lr=1e-2),
        lambda i: (x[8 * i : 8 * i + 8],),
        {"rng": rng},
    )


def multitask_case(dtype):
    rng = np.random.default_rng(6)
    net = MultiTaskNet(5, 7, 3, 4, p=0.4, seed=2, dtype=dtype)  # dropout from its own seed
    x, yA = rng.standard_normal((40, 5)).astype(dtype), rng.standard_normal((40, 3)).astype(dtype)
    labels = rng.integers(0, 4, 40)
    opt = Adam(net.parameters(), lr=1e-2)
    return (
        net,
        None,
        opt,
        lambda i: (x[8 * i : 8 * i + 8], yA[8 * i : 8 * i + 8], labels[8 * i : 8 * i + 8]),
        {},
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", [mlp_case, vae_case, multitask_case])
def test_a_seed_gives_the_same_run_on_either_engine(case, dtype):
    """Five steps from the same start on each engine: the same weights up to rounding
    (the same dropout masks and ε: both engines draw the same random numbers)."""
    weights, losses = {}, {}
    for name in ("numpy", "fused"):
        model, loss, opt, batch, kwargs = case(dtype)
        step = engine.get(name).step(model, loss, opt)
        losses[name] = []
        for i in range(5):
            losses[name].append(step.forward(*batch(i), **kwargs).loss)
            step.update()
        weights[name] = [p.data.copy() for p in model.parameters()]
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(losses["fused"], losses["numpy"], rtol=rtol)
    for a, b in zip(weights["fused"], weights["numpy"], strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", ["numpy", "fused"])
def test_update_without_a_forward_first_is_a_one_line_error(name):
    model = MLP([4, 3, 2])
    step = engine.get(name).step(model, SoftmaxCrossEntropy(), SGD(model.parameters()))
    with pytest.raises(HandgradError, match=r"needs a forward pass first"):
        step.update()
    x, y = np.ones((2, 4), np.float32), np.array([0, 1])
    step.forward(x, y)
    step.update()
    with pytest.raises(HandgradError, match=r"call step.forward\(batch\) before each update"):
        step.update()  # the same gradients would be applied twice
