"""The fused MLP step equals the layers' forward, loss and backward, and passes the
finite-difference gradient check itself."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast.steps.mlp import FusedMLPStep
from handgrad.gradcheck import numeric_gradient
from handgrad.models.mlp import MLP
from handgrad.nn.losses import MSELoss, SoftmaxCrossEntropy
from handgrad.optim import SGD
from tests.fast.conftest import DTYPES, assert_close


def fused(model: MLP, seed: float = 1.0) -> FusedMLPStep:
    """The fused step of ``model``; its optimiser never steps here, ``seed`` is dL."""
    opt = SGD(model.parameters(), lr=seed)  # plain SGD seeds the backward with lr
    return FusedMLPStep("fused", model, SoftmaxCrossEntropy(), opt, lambda *_: None)


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

    step = fused(model, 0.3)
    fused_loss, correct = step.forward(x, y)
    step.update()
    assert fused_loss == pytest.approx(loss, rel=RTOL_LOSS[dtype])
    assert correct == np.count_nonzero(logits.argmax(axis=1) == y)
    for p, g in zip(model.parameters(), expected, strict=True):
        assert_close(p.grad, g, dtype, atol_scale=np.abs(g).max())


RTOL_LOSS = {np.float64: 1e-12, np.float32: 1e-6}


def test_fused_step_passes_the_gradient_check():
    x, y = batch(np.float64)
    model = MLP([12, 7, 5], seed=2, dtype=np.float64)
    step = fused(model)
    step.forward(x, y)
    step.update()
    analytic = [p.grad.copy() for p in model.parameters()]
    for p, g in zip(model.parameters(), analytic, strict=True):
        numeric = numeric_gradient(lambda: step.forward(x, y).loss, p.data, eps=1e-6)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_supports_relu_stacks_with_cross_entropy_only_and_rejects_bad_labels():
    xent = SoftmaxCrossEntropy()
    assert FusedMLPStep.supports(MLP([4, 3, 2]), xent)
    assert not FusedMLPStep.supports(MLP([4, 3, 2]), MSELoss())
    for other in (MLP([4, 3, 2], activation="tanh"), MLP([4, 3, 2], dropout=0.5),
                  MLP([4, 3, 2], batchnorm=True)):  # fmt: skip
        assert not FusedMLPStep.supports(other, xent)
    model = MLP([12, 4, 5], dtype=np.float32)
    x, y = batch(np.float32)
    y[4] = 5
    with pytest.raises(HandgradError, match="label 5 is outside the 5 classes"):
        fused(model).forward(x, y)
    with pytest.raises(HandgradError, match="float64 but the model is float32"):
        fused(model).forward(x.astype(np.float64), y)
