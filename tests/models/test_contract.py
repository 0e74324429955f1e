"""Every model keeps the layer contract: `check_module(model, x)` passes, x included,
in training and in eval mode (dropout masks and the VAE's ε are held fixed by
check_module, which restores every Generator before each forward)."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import MLP, VAE, MultiTaskNet, check_module
from handgrad.gradcheck import format_table

MODES = pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])


def _assert_passes(model, x, training: bool) -> None:
    model.train(training)
    report = check_module(model, x)
    assert report.checks[0].name == "x"
    assert report.passed, "\n" + format_table([report])


@MODES
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"batchnorm": True}, {"dropout": 0.3}, {"batchnorm": True, "dropout": 0.3}],
    ids=["plain", "batchnorm", "dropout", "batchnorm+dropout"],
)
def test_mlp(kwargs, training):
    net = MLP([6, 5, 3], activation="tanh", dtype=np.float64, seed=0, **kwargs)
    _assert_passes(net, np.random.default_rng(1).standard_normal((4, 6)), training)


def test_mlp_with_relu_as_built_by_default():
    net = MLP([6, 5, 3], dtype=np.float64)
    _assert_passes(net, np.random.default_rng(2).standard_normal((4, 6)), True)


@MODES
@pytest.mark.parametrize("decoder", ["gaussian", "bernoulli"])
def test_vae(decoder, training):
    vae = VAE(3, 2, (5,), decoder=decoder, beta=0.7, rng=3, dtype=np.float64, logvar_limit=4.0)
    rng = np.random.default_rng(4)
    x = rng.random((4, 3)) if decoder == "bernoulli" else rng.standard_normal((4, 3))
    _assert_passes(vae, x, training)


@MODES
@pytest.mark.parametrize("p", [0.0, 0.5])
def test_multitask_net(p, training):
    net = MultiTaskNet(4, 5, 3, 3, p=p, seed=1)
    if not training:  # a running mean away from 0, so eval mode differs from a fresh net
        net.forward(np.random.default_rng(0).standard_normal((8, 4)) + 1.0)
    _assert_passes(net, np.random.default_rng(5).standard_normal((6, 4)), training)


def test_models_are_importable_from_the_package():
    import handgrad.models as models

    assert {"MLP", "VAE", "MultiTaskNet"} <= set(models.__all__)


@pytest.mark.parametrize(
    "build",
    [
        lambda: (MLP([6, 5, 3], dropout=0.3, batchnorm=True, dtype=np.float64), 6),
        lambda: (VAE(6, 2, (5,), rng=0, dtype=np.float64), 6),
        lambda: (MultiTaskNet(6, 5, 3, 3, p=0.5), 6),
    ],
    ids=["mlp", "vae", "multitask"],
)
def test_forward_and_backward_save_only_named_residuals(build):
    model, n = build()
    before = {id(m): set(vars(m)) for m in model.modules()}
    y = model.forward(np.random.default_rng(0).standard_normal((4, n)))
    dy = tuple(np.ones_like(o) for o in y) if isinstance(y, tuple) else np.ones_like(y)
    model.backward(dy)
    for m in model.modules():
        assert set(vars(m)) - before[id(m)] <= {"residuals"}, m
