import numpy as np

from handgrad.models.mlp import MLP
from handgrad.training.numerics import locate_nonfinite


def test_finite_model_is_clean():
    net = MLP([3, 4, 2], seed=0)
    where = locate_nonfinite(net, np.ones((2, 3), dtype=np.float32))
    assert where == (
        "the loss itself (the parameters, their gradients and every layer's output on the "
        "batch are finite)"
    )
    assert (
        locate_nonfinite(net) == "the loss itself (the parameters and their gradients are finite)"
    )


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


def test_a_vae_names_its_encoder_and_decoder_layers():
    from handgrad.models.vae import VAE

    vae = VAE(6, 2, (5,), decoder="bernoulli", rng=0)
    x = np.ones((3, 6), dtype=np.float32)
    vae.encoder.layers[2].bias.data[:2] = np.float32(3e38)  # μ near float32's largest
    vae.decoder.layers[0].weight.data[...] = 2.0  # … overflows the decoder's first layer
    with np.errstate(over="ignore", invalid="ignore"):
        where = locate_nonfinite(vae, x)
    assert where.startswith("the output of decoder layer 0 (Linear") and where.endswith("on z = μ")
    vae.encoder.layers[0].weight.data[...] = np.float32(3e38)
    x[:] = 3e38
    with np.errstate(over="ignore", invalid="ignore"):
        assert locate_nonfinite(vae, x).startswith("the output of encoder layer 0 (Linear")
    assert vae.training  # put back in training mode


def test_a_model_without_traceable_layers_claims_nothing_about_them():
    from handgrad.models.multitask import MultiTaskNet

    net = MultiTaskNet(4, 5, 2, 3, seed=0)
    where = locate_nonfinite(net, np.ones((2, 4), dtype=net.dtype))
    assert where == "the loss itself (the parameters and their gradients are finite)"
