"""Softmax and LogSoftmax: stability at ±1000, the JVP backward, autograd and FD agreement."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad import nn


def ref_log_softmax(x):
    shifted = x - anp.max(x, axis=-1, keepdims=True)
    return shifted - anp.log(anp.sum(anp.exp(shifted), axis=-1, keepdims=True))


REFERENCES = {
    nn.Softmax: lambda x: anp.exp(ref_log_softmax(x)),
    nn.LogSoftmax: ref_log_softmax,
}
CLASSES = pytest.mark.parametrize("cls", list(REFERENCES), ids=lambda c: c.__name__)


@CLASSES
@settings(max_examples=15, deadline=None)
@given(
    m=st.integers(1, 6),
    k=st.integers(1, 6),
    scale=st.sampled_from([0.1, 1.0, 2.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_backward_matches_autograd(cls, oracle, m, k, scale, seed):
    """Unsaturated logits: see `test_saturated_softmax_backward_error_is_round_off`."""
    x = scale * np.random.default_rng(seed).standard_normal((m, k))
    oracle(cls(), x, REFERENCES[cls])


@CLASSES
@pytest.mark.parametrize("shape", [(1, 2), (1, 5), (4, 3), (6, 1)])
def test_backward_matches_finite_differences(cls, fd_check, shape):
    fd_check(cls(), np.random.default_rng(3).standard_normal(shape))


@CLASSES
def test_backward_matches_autograd_at_huge_logits(cls, oracle):
    x = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0]])
    oracle(cls(), x, REFERENCES[cls])


def test_saturated_softmax_backward_error_is_round_off():
    """y ⊙ (dy − Σ dy⊙y) cancels when one y_k ≈ 1: the error stays at round-off of dy."""
    x = np.array([[30.0, -10.0]])
    dy = np.array([[0.7, -0.4]])
    layer = nn.Softmax()
    y = layer.forward(x)
    cancellation_free = y * (y[:, ::-1] * (dy - dy[:, ::-1]))  # y_i Σ_k y_k (dy_i − dy_k), k = 2
    assert np.max(np.abs(layer.backward(dy) - cancellation_free)) <= 2 * np.finfo(float).eps


def test_softmax_of_huge_logits_is_exact():
    x = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    y = nn.Softmax().forward(x)
    np.testing.assert_array_equal(y, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    logp = nn.LogSoftmax().forward(x)
    np.testing.assert_array_equal(logp[0], [0.0, -2000.0, -1000.0])
    np.testing.assert_array_equal(logp[1], [-np.log(2), -np.log(2), -2000.0 - np.log(2)])
    np.testing.assert_array_equal(nn.log_softmax(x), logp)
    np.testing.assert_array_equal(nn.softmax(x), y)


def test_softmax_backward_is_the_jacobian_vector_product():
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((1, 4)), rng.standard_normal((1, 4))
    layer = nn.Softmax()
    y = layer.forward(x)[0]
    jacobian = np.diag(y) - np.outer(y, y)  # ∂y_i/∂x_k = y_i (δ_ik − y_k), symmetric
    np.testing.assert_allclose(layer.backward(dy)[0], jacobian @ dy[0], rtol=1e-13)


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 5), k=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_rows_are_distributions(m, k, seed):
    x = 10 * np.random.default_rng(seed).standard_normal((m, k))
    y = nn.Softmax().forward(x)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.exp(nn.LogSoftmax().forward(x)), y, rtol=1e-13)
