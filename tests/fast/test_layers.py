"""`FastLinear` gives the numbers of `handgrad.nn.Linear`, and still checks its input."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad import nn
from handgrad.errors import HandgradError
from handgrad.fast.layers import FastLinear, FastReLU
from handgrad.gradcheck import check_module


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_fast_linear_equals_linear(dtype, bias):
    rng = np.random.default_rng(0)
    plain = nn.Linear(7, 4, bias=bias, rng=3, dtype=dtype)
    fast = nn.Linear(7, 4, bias=bias, rng=3, dtype=dtype)
    FastLinear.adopt(fast)
    for layer in (plain, fast):
        layer.zero_grad()
    for _ in range(2):  # two backward passes: written first, then accumulated
        x = rng.standard_normal((5, 7)).astype(dtype)
        dy = rng.standard_normal((5, 4)).astype(dtype)
        np.testing.assert_array_equal(fast.forward(x), plain.forward(x))
        np.testing.assert_array_equal(fast.backward(dy), plain.backward(dy))
        assert fast.backward(dy, input_grad=False) is None
        plain.backward(dy, input_grad=False)
        for p, q in zip(fast.parameters(), plain.parameters(), strict=True):
            np.testing.assert_array_equal(p.grad, q.grad)


def test_fast_linear_passes_the_gradient_check_and_rejects_bad_input():
    layer = nn.Linear(3, 2, rng=0, dtype=np.float64)
    FastLinear.adopt(layer)
    assert check_module(layer, np.random.default_rng(1).standard_normal((4, 3))).passed
    with pytest.raises(HandgradError, match=r"\(m, 3\)"):
        layer.forward(np.zeros((4, 5)))
    with pytest.raises(HandgradError, match=r"\(4, 2\)"):
        layer.backward(np.zeros((4, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_relu_equals_relu(dtype):
    rng = np.random.default_rng(0)
    plain, fast = nn.ReLU(), nn.ReLU()
    FastReLU.adopt(fast)
    x = rng.standard_normal((5, 7)).astype(dtype)
    dy = rng.standard_normal((5, 7)).astype(dtype)
    np.testing.assert_array_equal(fast.forward(x), plain.forward(x))
    np.testing.assert_array_equal(fast.backward(dy), plain.backward(dy))
    assert fast.backward(dy, input_grad=False) is None
    assert repr(fast) == repr(plain) == "ReLU()"
    with pytest.raises(HandgradError, match=r"\(5, 7\)"):
        fast.backward(dy[:2])
