"""The seam: an engine switches exactly the parts it has fast versions of, in place."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import MLP, VAE, MultiTaskNet, check_module, nn
from handgrad.errors import HandgradError
from handgrad.fast import DEFAULT_ENGINE, NUMPY, PLAIN, get_engine
from handgrad.fast.layers import FastLinear, FastReLU
from handgrad.fast.losses import FastBernoulliNLL, FastSoftmaxCrossEntropy


def test_prepare_switches_known_parts_in_place_and_plain_switches_back():
    net = MLP([4, 3, 2], batchnorm=True, dtype=np.float64)
    params = [id(p) for p in net.parameters()]
    loss_fn = nn.SoftmaxCrossEntropy()
    NUMPY.prepare(net, loss_fn)
    assert [type(m) for m in net.layers] == [FastLinear, nn.BatchNorm1d, FastReLU, FastLinear]
    assert type(loss_fn) is FastSoftmaxCrossEntropy
    assert [id(p) for p in net.parameters()] == params
    NUMPY.prepare(net)  # idempotent
    NUMPY.plain(net, loss_fn)
    assert [type(m) for m in net.layers] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    assert type(loss_fn) is nn.SoftmaxCrossEntropy


def test_a_subclass_of_a_plain_layer_is_left_alone():
    class Wrong(nn.Linear):
        pass

    layer = Wrong(2, 2)
    NUMPY.prepare(layer)
    assert type(layer) is Wrong


def test_models_on_the_fast_path_pass_the_gradient_check():
    x = np.random.default_rng(0).standard_normal((4, 6))
    for model in (
        MLP([6, 5, 3], dtype=np.float64, dropout=0.2),
        VAE(6, 2, (5,), decoder="bernoulli", rng=1, dtype=np.float64),
        MultiTaskNet(6, 5, 3, 3, p=0.5, seed=1),
    ):
        DEFAULT_ENGINE.prepare(model)
        if isinstance(model, VAE):
            assert type(model.nll) is FastBernoulliNLL
            x_in = 1 / (1 + np.exp(-x))
        else:
            x_in = x
        assert check_module(model, x_in).passed, model


def test_engines_by_name():
    assert get_engine("numpy") is NUMPY and get_engine("plain") is PLAIN
    # (the fused engine registers itself once handgrad.fast.fused is imported)
    with pytest.raises(HandgradError, match="unknown engine 'jax'; choose one of plain, numpy"):
        get_engine("jax")
