"""ReLU, Sigmoid, Tanh, Sin: forward values, backward vs autograd and finite differences."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad import nn
from handgrad.checks.layers import away_from_zero
from handgrad.gradcheck import check_module

REFERENCES = {
    nn.ReLU: lambda x: anp.maximum(x, 0.0),
    nn.Sigmoid: lambda x: 1.0 / (1.0 + anp.exp(-x)),
    nn.Tanh: anp.tanh,
    nn.Sin: anp.sin,
}


@pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)
@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 6), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_backward_matches_autograd(cls, oracle, m, d, seed):
    x = away_from_zero(np.random.default_rng(seed), (m, d), np.dtype(np.float64))
    oracle(cls(), x, REFERENCES[cls])


@pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (7, 2)])
def test_backward_matches_finite_differences(cls, fd_check, shape):
    x = away_from_zero(np.random.default_rng(sum(shape)), shape, np.dtype(np.float64))
    fd_check(cls(), x)


def test_activations_table_names_every_activation():
    assert set(nn.ACTIVATIONS.values()) == set(REFERENCES)


def test_relu_forward_and_step_derivative():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    relu = nn.ReLU()
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(relu.backward(np.full_like(x, 2.0)), [[0.0, 0.0, 2.0, 2.0]])


class LiteralSgnReLU(nn.ReLU):
    """Report 000's sgn(x) read literally as (x + |x|)/2: that is ReLU(x), not 1[x > 0]."""

    def forward(self, x):
        self._x = x
        return super().forward(x)

    def backward(self, dy):
        return dy * (self._x + np.abs(self._x)) / 2


def test_relu_with_sgn_read_literally_is_caught():
    x = away_from_zero(np.random.default_rng(0), (3, 4), np.dtype(np.float64))
    report = check_module(LiteralSgnReLU(), x)
    assert not report.passed
    assert check_module(nn.ReLU(), x).passed


def test_sigmoid_is_finite_and_precise_at_extremes():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    sig = nn.Sigmoid()
    y = sig.forward(x)
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))
    assert y[0] == 0.0 and y[-1] == 1.0 and y[2] == 0.5
    # full relative precision in the left tail, where 1 − tanh would cancel
    np.testing.assert_allclose(y[1], np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-15)
    dx = sig.backward(np.ones_like(x))
    assert np.all(np.isfinite(dx))
    np.testing.assert_allclose(dx[1], y[1] * (1 - y[1]), rtol=1e-15)


@pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)
def test_forward_matches_reference(cls):
    x = np.linspace(-3, 3, 13).reshape(1, -1)
    np.testing.assert_allclose(cls().forward(x), REFERENCES[cls](x), rtol=1e-14, atol=1e-15)
