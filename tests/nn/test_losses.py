"""SoftmaxCrossEntropy (fused, from logits) and MSELoss: values, gradients, validation."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad import nn
from handgrad.checks.layers import probability_rows
from handgrad.errors import HandgradError
from handgrad.gradcheck import check_loss


def ref_cross_entropy(target):
    def loss(z):
        shifted = z - anp.max(z, axis=1, keepdims=True)
        logp = shifted - anp.log(anp.sum(anp.exp(shifted), axis=1, keepdims=True))
        return -anp.sum(target * logp) / z.shape[0]

    return loss


def ref_mse(target):
    return lambda p: anp.sum(0.5 * (p - target) ** 2) / p.shape[0]


SHAPES = {"m": st.integers(1, 6), "k": st.integers(1, 6), "seed": st.integers(0, 2**32 - 1)}


@settings(max_examples=15, deadline=None)
@given(**SHAPES, soft=st.booleans())
def test_cross_entropy_matches_autograd(loss_check, m, k, seed, soft):
    rng = np.random.default_rng(seed)
    z = 3 * rng.standard_normal((m, k))
    if soft:
        y = probability_rows(rng, (m, k), np.dtype(np.float64))
        loss_check(nn.SoftmaxCrossEntropy(), z, y, ref_cross_entropy(y))
    else:
        labels = rng.integers(0, k, size=m)
        loss_check(nn.SoftmaxCrossEntropy(), z, labels, ref_cross_entropy(nn.one_hot(labels, k)))


@settings(max_examples=15, deadline=None)
@given(**SHAPES)
def test_mse_matches_autograd(loss_check, m, k, seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal((m, k))
    loss_check(nn.MSELoss(), rng.standard_normal((m, k)), y, ref_mse(y))


@pytest.mark.parametrize("m", [1, 4])
def test_losses_match_finite_differences(m):
    rng = np.random.default_rng(m)
    z, y = rng.standard_normal((m, 5)), rng.standard_normal((m, 5))
    assert check_loss(nn.SoftmaxCrossEntropy(), z, rng.integers(0, 5, m)).passed
    assert check_loss(nn.MSELoss(), z, y).passed


def test_cross_entropy_of_huge_logits_is_exact(loss_check):
    z = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0]])
    labels = np.array([0, 1])
    loss = nn.SoftmaxCrossEntropy()
    assert loss.forward(z, labels) == 1000.0  # (0 + 2000) / 2
    np.testing.assert_array_equal(loss.backward(), [[0.0, 0.0, 0.0], [0.5, -0.5, 0.0]])
    loss_check(loss, z, labels, ref_cross_entropy(nn.one_hot(labels, 3)))


def test_gradient_is_softmax_minus_target_over_m():
    rng = np.random.default_rng(0)
    z, labels = rng.standard_normal((4, 3)), np.array([2, 0, 1, 1])
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(z, labels)
    expected = (nn.softmax(z) - nn.one_hot(labels, 3, np.float64)) / 4
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-15, atol=1e-17)
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * expected, rtol=1e-15, atol=1e-17)


def test_labels_and_one_hot_targets_agree():
    z = np.random.default_rng(1).standard_normal((3, 4))
    labels = np.array([3, 0, 2])
    a, b = nn.SoftmaxCrossEntropy(), nn.SoftmaxCrossEntropy()
    assert a(z, labels) == pytest.approx(b(z, nn.one_hot(labels, 4, np.float64)), rel=1e-15)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14)


def test_mse_value():
    loss = nn.MSELoss()
    assert loss(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 0.0], [0.0, 3.0]])) == 3.5
    np.testing.assert_array_equal(loss.backward(), [[0.5, 1.0], [0.0, -1.5]])


@pytest.mark.parametrize("cls", [nn.SoftmaxCrossEntropy, nn.MSELoss])
def test_float32_preserved_even_with_float64_target(cls):
    z = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    loss = cls()
    value = loss(z, nn.one_hot(np.array([0, 1, 2]), 4, np.float64))
    assert isinstance(value, float)
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("cls", [nn.SoftmaxCrossEntropy, nn.MSELoss])
def test_backward_before_forward_raises(cls):
    with pytest.raises(HandgradError, match="before forward"):
        cls().backward()


@pytest.mark.parametrize(
    "logits, target, match",
    [
        (np.zeros(3), np.array([0, 1, 2]), r"shape \(m, k\)"),
        (np.zeros((2, 3)), np.array([0, 1, 2]), "2 rows of logits but 3 labels"),
        (np.zeros((2, 3)), np.array([0, 3]), r"\[0, 3\)"),
        (np.zeros((2, 3)), np.array([0.0, 1.0]), "integer"),
        (np.zeros((2, 3)), np.zeros((2, 4)), "does not match"),
        (np.zeros((2, 3)), np.full((2, 3), 0.5), "probabilities"),
        (np.zeros((2, 3)), np.array([[1.5, -0.5, 0.0], [1, 0, 0]]), "probabilities"),
    ],
)
def test_cross_entropy_bad_input(logits, target, match):
    with pytest.raises(HandgradError, match=match):
        nn.SoftmaxCrossEntropy().forward(logits, target)


def test_mse_shape_mismatch_names_both_shapes():
    with pytest.raises(HandgradError, match=r"\(2, 3\).*\(3, 2\)"):
        nn.MSELoss().forward(np.zeros((3, 2)), np.zeros((2, 3)))


def test_one_hot():
    np.testing.assert_array_equal(nn.one_hot(np.array([1, 0]), 3), [[0, 1, 0], [1, 0, 0]])
    assert nn.one_hot(np.array([1]), 2).dtype == np.float32
    assert nn.one_hot(np.array([], dtype=np.int64), 2).shape == (0, 2)
    with pytest.raises(HandgradError, match="1-D"):
        nn.one_hot(np.zeros((2, 2), dtype=int), 3)
