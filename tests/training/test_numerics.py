import numpy as np

from handgrad.models.mlp import MLP
from handgrad.training.numerics import locate_nonfinite


def test_finite_model_is_clean():
    net = MLP([3, 4, 2], seed=0)
    assert locate_nonfinite(net, np.ones((2, 3), dtype=np.float32)) == "nowhere"


def test_blown_up_weight_is_named():
    net = MLP([3, 4, 2], seed=0)
    net.layers[2].weight.data[0, 0] = np.inf
    assert locate_nonfinite(net) == "parameter layers.2.weight"


def test_first_layer_with_non_finite_output_is_named():
    net = MLP([3, 4, 2], activation="sigmoid", seed=0)
    x = np.full((2, 3), 1e38, dtype=np.float32)
    net.layers[0].weight.data[...] = np.float32(3e38)
    with np.errstate(over="ignore", invalid="ignore"):
        where = locate_nonfinite(net, x)
    assert where.startswith("the output of layer 0")


def test_non_finite_gradient_is_named():
    net = MLP([3, 4, 2], seed=0)
    net.layers[0].bias.grad[1] = np.nan
    assert locate_nonfinite(net) == "the gradient of layers.0.bias"
