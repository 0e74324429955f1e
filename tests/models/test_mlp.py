import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.gradcheck import check_module
from handgrad.models.mlp import MLP
from handgrad.nn import BatchNorm1d, Dropout, Linear, ReLU, Sigmoid, Tanh


def test_structure_and_shapes():
    net = MLP([12, 8, 6, 3], activation="tanh", dropout=0.2, batchnorm=True, seed=1)
    kinds = [type(layer) for layer in net.layers]
    assert kinds == [Linear, BatchNorm1d, Tanh, Dropout, Linear, BatchNorm1d, Tanh, Dropout, Linear]
    x = np.random.default_rng(0).standard_normal((5, 12)).astype(np.float32)
    assert net.forward(x).shape == (5, 3)
    assert net.forward(x).dtype == np.float32


@pytest.mark.parametrize(
    ("activation", "cls"), [("relu", ReLU), ("sigmoid", Sigmoid), ("tanh", Tanh)]
)
def test_activation_choice(activation, cls):
    assert isinstance(MLP([4, 3, 2], activation=activation).layers[1], cls)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = MLP([6, 5, 2], seed=3), MLP([6, 5, 2], seed=3), MLP([6, 5, 2], seed=4)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)
    assert not np.array_equal(a.parameters()[0].data, c.parameters()[0].data)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_gradients_match_finite_differences(batchnorm):
    net = MLP([5, 4, 3], activation="tanh", batchnorm=batchnorm, seed=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((6, 5))
    report = check_module(net, x)
    assert report.passed, report.rows()


def test_the_caller_decides_whether_the_input_gradient_is_computed():
    net = MLP([5, 4, 3], seed=0)
    x = np.ones((2, 5), dtype=np.float32)
    net.forward(x)
    dy = np.ones((2, 3), dtype=np.float32)
    assert net.backward(dy).shape == x.shape  # the default: ∂L/∂x, as check_module needs
    assert net.backward(dy, input_grad=False) is None  # training: x is data


def test_predict_is_eval_mode_and_restores_training():
    net = MLP([5, 4, 3], dropout=0.5, seed=0)
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    p1, p2 = net.predict(x), net.predict(x)
    np.testing.assert_array_equal(p1, p2)
    assert net.training and all(m.training for m in net.modules())
    assert p1.shape == (7,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sizes": [5]}, "at least"),
        ({"sizes": [5, 0, 2]}, "≥ 1"),
        ({"sizes": [5, 3], "activation": "gelu"}, "unknown activation"),
        ({"sizes": [5, 3, 2], "dropout": 1.0}, r"\[0, 1\)"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(HandgradError, match=match):
        MLP(**kwargs)
