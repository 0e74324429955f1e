"""BatchNorm1d and MeanCenter (BN*): batch vs running statistics, backward, edge cases."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad import nn
from handgrad.errors import HandgradError
from handgrad.gradcheck import check_module

EPS = 1e-5


def ref_batchnorm(x, gamma, beta):
    mu = anp.mean(x, axis=0)
    var = anp.mean((x - mu) ** 2, axis=0)
    return gamma * (x - mu) / anp.sqrt(var + EPS) + beta


def ref_mean_center(x, bias):
    return x - anp.mean(x, axis=0) + bias


def _randomized(layer, rng):
    for p in layer.parameters():
        p.data[...] = rng.uniform(-2, 2, size=p.shape)
    layer.running_mean[...] = rng.standard_normal(layer.num_features)
    if isinstance(layer, nn.BatchNorm1d):
        layer.running_var[...] = rng.uniform(0.5, 2, size=layer.num_features)
    return layer


def _reference(layer):
    """The autograd reference of ``layer`` in its current mode (eval: frozen statistics)."""
    if layer.training:
        return ref_batchnorm if isinstance(layer, nn.BatchNorm1d) else ref_mean_center
    mean = layer.running_mean.copy()
    if isinstance(layer, nn.BatchNorm1d):
        std = np.sqrt(layer.running_var + EPS)
        return lambda x, gamma, beta: gamma * (x - mean) / std + beta
    return lambda x, bias: x - mean + bias


LAYERS = pytest.mark.parametrize("cls", [nn.BatchNorm1d, nn.MeanCenter], ids=lambda c: c.__name__)
MODES = pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])


@LAYERS
@MODES
@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 6), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_backward_matches_autograd(oracle, cls, training, m, d, seed):
    rng = np.random.default_rng(seed)
    layer = _randomized(cls(d, dtype=np.float64), rng).train(training)
    oracle(layer, 3 * rng.standard_normal((m, d)) + 1, _reference(layer))


@LAYERS
@MODES
@pytest.mark.parametrize("shape", [(1, 3), (2, 1), (5, 4)])
def test_backward_matches_finite_differences(fd_check, cls, training, shape):
    rng = np.random.default_rng(sum(shape))
    layer = _randomized(cls(shape[1], dtype=np.float64), rng).train(training)
    fd_check(layer, rng.standard_normal(shape))


@LAYERS
def test_constant_feature(oracle, fd_check, cls):
    """A feature with zero batch variance: finite output and gradients, all checks agree."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3))
    x[:, 1] = 3.0
    layer = _randomized(cls(3, dtype=np.float64), rng)
    y = layer.forward(x)
    bias = layer.beta.data if cls is nn.BatchNorm1d else layer.bias.data
    np.testing.assert_array_equal(y[:, 1], np.full(5, bias[1]))
    assert np.all(np.isfinite(layer.backward(np.ones_like(y))))
    fd_check(layer, x)
    oracle(layer, x, _reference(layer))


def test_batchnorm_normalises_the_batch():
    x = np.random.default_rng(0).normal(5, 3, size=(64, 4))
    y = nn.BatchNorm1d(4, dtype=np.float64).forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-4)  # ε = 1e-5 shrinks it slightly


def test_batchnorm_running_statistics_and_eval_forward():
    rng = np.random.default_rng(1)
    layer = _randomized(nn.BatchNorm1d(3, momentum=0.2, dtype=np.float64), rng)
    mean0, var0 = layer.running_mean.copy(), layer.running_var.copy()
    x = rng.standard_normal((6, 3))
    layer.forward(x)
    np.testing.assert_allclose(layer.running_mean, 0.8 * mean0 + 0.2 * x.mean(axis=0))
    np.testing.assert_allclose(layer.running_var, 0.8 * var0 + 0.2 * x.var(axis=0, ddof=1))
    layer.eval()
    stats = layer.running_mean.copy(), layer.running_var.copy()
    x2 = rng.standard_normal((2, 3))
    expected = (x2 - stats[0]) / np.sqrt(stats[1] + EPS) * layer.gamma.data + layer.beta.data
    np.testing.assert_allclose(layer.forward(x2), expected, rtol=1e-14)
    np.testing.assert_array_equal(layer.running_mean, stats[0])  # eval never updates
    np.testing.assert_array_equal(layer.running_var, stats[1])


def test_mean_center_running_mean_and_eval():
    rng = np.random.default_rng(2)
    layer = _randomized(nn.MeanCenter(3, dtype=np.float64), rng)
    mean0 = layer.running_mean.copy()
    x = rng.standard_normal((4, 3))
    y = layer.forward(x)
    np.testing.assert_allclose(y.mean(axis=0), layer.bias.data, atol=1e-15)
    np.testing.assert_allclose(layer.running_mean, 0.9 * mean0 + 0.1 * x.mean(axis=0))
    layer.eval()
    np.testing.assert_allclose(layer.forward(x), x - layer.running_mean + layer.bias.data)
    dy = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(layer.backward(dy), dy)


@LAYERS
def test_backward_uses_the_statistics_of_its_forward(cls):
    """Switching to eval between forward and backward must not change the gradient."""
    rng = np.random.default_rng(3)
    x, dy = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    a, b = cls(2, dtype=np.float64), cls(2, dtype=np.float64)
    a.forward(x)
    b.forward(x)
    b.eval()
    np.testing.assert_array_equal(a.backward(dy), b.backward(dy))


@LAYERS
def test_single_row_in_training_gives_zero_input_gradient(cls):
    layer = _randomized(cls(3, dtype=np.float64), np.random.default_rng(4))
    x = np.array([[1.0, -2.0, 0.5]])
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), np.zeros((1, 3)))


class MeanCenterReport003(nn.MeanCenter):
    """Report 003's mistake: ∂L/∂x1B = (1 − 1/m) ∂L/∂xBN instead of g_i − (1/m) Σ_j g_j."""

    def backward(self, dy):
        self.bias.grad += dy.sum(axis=0)
        return (1 - 1 / dy.shape[0]) * dy


def test_report_003_factor_is_caught():
    x = np.random.default_rng(5).standard_normal((4, 3))
    report = check_module(MeanCenterReport003(3, dtype=np.float64), x)
    assert not report.passed
    assert [c.name for c in report.checks if not c.passed] == ["x"]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: nn.BatchNorm1d(0), "num_features"),
        (lambda: nn.BatchNorm1d(3, momentum=1.5), "momentum"),
        (lambda: nn.BatchNorm1d(3, eps=0), "eps"),
        (lambda: nn.MeanCenter(0), "num_features"),
        (lambda: nn.MeanCenter(3, momentum=-0.1), "momentum"),
    ],
)
def test_bad_settings_raise(make, match):
    with pytest.raises(HandgradError, match=match):
        make()


@LAYERS
def test_shape_and_dtype_mismatch_name_the_layer(cls):
    layer = cls(3)
    with pytest.raises(HandgradError, match=rf"{cls.__name__}\(3\).*\(m, 3\).*\(2, 4\)"):
        layer.forward(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(HandgradError, match=r"float32.*float64"):
        layer.forward(np.zeros((2, 3)))
