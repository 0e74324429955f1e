"""The fused MLP step equals the layers' forward, loss and backward, and passes the
finite-difference gradient check itself."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast.mlp import FusedMLPStep, supports
from handgrad.gradcheck import numeric_gradient
from handgrad.models.mlp import MLP
from handgrad.nn.losses import SoftmaxCrossEntropy
from tests.fast.conftest import DTYPES, assert_close


def batch(dtype, m=9, d=12, k=5):
    rng = np.random.default_rng(3)
    return rng.standard_normal((m, d)).astype(dtype), rng.integers(0, k, m)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_step_equals_the_layers(dtype):
    x, y = batch(dtype)
    model = MLP([12, 8, 6, 5], seed=1, dtype=dtype)
    loss_fn = SoftmaxCrossEntropy()
    logits = model.forward(x)
    loss = loss_fn.forward(logits, y)
    model.zero_grad()
    model.backward(loss_fn.backward(0.3))
    expected = [p.grad.copy() for p in model.parameters()]

    fused = FusedMLPStep(model)
    model.zero_grad()
    fused_loss, correct = fused.loss(x, y, 0.3)
    fused.backward()
    assert fused_loss == pytest.approx(loss, rel=RTOL_LOSS[dtype])
    assert correct == np.count_nonzero(logits.argmax(axis=1) == y)
    for p, g in zip(model.parameters(), expected, strict=True):
        assert_close(p.grad, g, dtype, atol_scale=np.abs(g).max())


RTOL_LOSS = {np.float64: 1e-12, np.float32: 1e-6}


def test_fused_step_passes_the_gradient_check():
    x, y = batch(np.float64)
    model = MLP([12, 7, 5], seed=2, dtype=np.float64)
    fused = FusedMLPStep(model)
    model.zero_grad()
    fused.loss(x, y, 1.0)
    fused.backward()
    analytic = [p.grad.copy() for p in model.parameters()]
    for p, g in zip(model.parameters(), analytic, strict=True):
        numeric = numeric_gradient(lambda: fused.loss(x, y, 1.0)[0], p.data, eps=1e-6)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_supports_relu_stacks_only_and_rejects_bad_labels():
    assert supports(MLP([4, 3, 2]))
    for other in (MLP([4, 3, 2], activation="tanh"), MLP([4, 3, 2], dropout=0.5),
                  MLP([4, 3, 2], batchnorm=True), "mlp"):  # fmt: skip
        assert not supports(other)
    with pytest.raises(HandgradError, match="supports ReLU MLPs"):
        FusedMLPStep(MLP([4, 3, 2], dropout=0.5))
    model = MLP([12, 4, 5], dtype=np.float32)
    x, y = batch(np.float32)
    y[4] = 5
    with pytest.raises(HandgradError, match="label 5 is outside the 5 classes"):
        FusedMLPStep(model).loss(x, y, 1.0)
    with pytest.raises(HandgradError, match="float64 but the model is float32"):
        FusedMLPStep(model).loss(x.astype(np.float64), y, 1.0)
