"""Linear: y = x θᵀ + b with θ (out, in); backward vs autograd and FD; errors and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad import nn
from handgrad.errors import HandgradError


def ref_linear(x, weight, bias=None):
    y = x @ weight.T
    return y if bias is None else y + bias


@pytest.mark.parametrize("bias", [True, False])
@settings(max_examples=15, deadline=None)
@given(
    m=st.integers(1, 6),
    n_in=st.integers(1, 5),
    n_out=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_matches_autograd(oracle, bias, m, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = nn.Linear(n_in, n_out, bias=bias, rng=rng, dtype=np.float64)
    oracle(layer, rng.standard_normal((m, n_in)), ref_linear)


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 4, 3), (5, 2, 6)])
def test_backward_matches_finite_differences(fd_check, shape):
    m, n_in, n_out = shape
    layer = nn.Linear(n_in, n_out, rng=1, dtype=np.float64)
    fd_check(layer, np.random.default_rng(2).standard_normal((m, n_in)))


def test_forward_is_x_theta_transpose_plus_b():
    layer = nn.Linear(2, 3, dtype=np.float64)
    layer.weight.data[...] = [[1, 2], [3, 4], [5, 6]]
    layer.bias.data[...] = [0.5, -1, 2]
    np.testing.assert_array_equal(layer.forward(np.array([[1.0, -1.0]])), [[-0.5, -2.0, 1.0]])


def test_parameter_shapes_and_names():
    layer = nn.Linear(4, 3)
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [
        ("weight", (3, 4)),
        ("bias", (3,)),
    ]
    assert [n for n, _ in nn.Linear(4, 3, bias=False).named_parameters()] == ["weight"]


@pytest.mark.parametrize("init", ["uniform", "he", "xavier"])
def test_same_seed_same_weights(init):
    a = nn.Linear(5, 4, rng=3, init=init)
    b = nn.Linear(5, 4, rng=np.random.default_rng(3), init=init)
    c = nn.Linear(5, 4, rng=4, init=init)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)


def test_float64_input_to_float32_layer_names_both_dtypes():
    layer = nn.Linear(3, 2)
    with pytest.raises(HandgradError, match=r"float32.*float64|float64.*float32"):
        layer.forward(np.zeros((2, 3)))


def test_shape_mismatch_names_layer_and_both_shapes():
    layer = nn.Linear(3, 2)
    with pytest.raises(HandgradError) as err:
        layer.forward(np.zeros((4, 5), dtype=np.float32))
    msg = str(err.value)
    assert "Linear(3→2)" in msg and "(m, 3)" in msg and "(4, 5)" in msg
    layer.forward(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(HandgradError) as err:
        layer.backward(np.zeros((4, 3), dtype=np.float32))
    msg = str(err.value)
    assert "Linear(3→2)" in msg and "(4, 3)" in msg and "(4, 2)" in msg


def test_input_grad_false_skips_dx_but_accumulates():
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    full = nn.Linear(4, 2, rng=5, dtype=np.float64)
    first = nn.Linear(4, 2, rng=5, dtype=np.float64)
    for layer in (full, first):
        layer.forward(x)
    assert first.backward(dy, input_grad=False) is None
    assert full.backward(dy).shape == x.shape
    np.testing.assert_array_equal(first.weight.grad, full.weight.grad)
    np.testing.assert_array_equal(first.bias.grad, full.bias.grad)


@pytest.mark.parametrize(
    "kwargs", [{"in_features": 0, "out_features": 2}, {"in_features": 2, "out_features": -1}]
)
def test_bad_sizes_raise(kwargs):
    with pytest.raises(HandgradError, match="positive sizes"):
        nn.Linear(**kwargs)


def test_unknown_init_raises():
    with pytest.raises(HandgradError, match="unknown init"):
        nn.Linear(2, 2, init="zeros")
