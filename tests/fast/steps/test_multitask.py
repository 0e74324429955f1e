"""The fused multi-task step equals MultiTaskNet's loss and backward (same dropout mask),
and passes the finite-difference gradient check itself."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast.steps.multitask import FusedMultiTaskStep
from handgrad.gradcheck import numeric_gradient
from handgrad.models.multitask import MultiTaskNet
from handgrad.nn.losses import one_hot
from handgrad.optim import SGD
from tests.fast.conftest import DTYPES, assert_close


def fused(net: MultiTaskNet, seed: float = 1.0) -> FusedMultiTaskStep:
    """The fused step of ``net``; its optimiser never steps here, ``seed`` is dL."""
    opt = SGD(net.parameters(), lr=seed)  # plain SGD seeds the backward with lr
    return FusedMultiTaskStep("fused", net, None, opt, lambda *_: None)


def setup(dtype, p=0.4):
    rng = np.random.default_rng(6)
    net = MultiTaskNet(5, 7, 3, 4, p=p, seed=2, dtype=dtype)
    x = rng.standard_normal((8, 5)).astype(dtype)
    yA = rng.standard_normal((8, 3)).astype(dtype)
    return net, x, yA, rng.integers(0, 4, 8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_step_equals_the_network(dtype):
    net, x, yA, labels = setup(dtype)
    step = fused(net, 0.5)
    loss = step.forward(x, yA, labels).loss
    step.update()
    got = [p.grad.copy() for p in net.parameters()]
    running = net.running_mean.copy()
    mask = step._mask.copy()  # the mask the fused step drew

    net.running_mean[...] = 0
    expected = net.loss(x, yA, one_hot(labels, 4, dtype), mask=mask)
    net.zero_grad()
    net.loss_backward(0.5, input_grad=False)
    assert loss == pytest.approx(expected, rel=1e-12 if dtype == np.float64 else 1e-5)
    assert_close(running, net.running_mean, dtype, atol_scale=1.0)
    for p, g in zip(net.parameters(), got, strict=True):
        assert_close(g, p.grad, dtype, atol_scale=np.abs(p.grad).max())


def test_fused_step_passes_the_gradient_check():
    net, x, yA, labels = setup(np.float64)
    step = fused(net)

    def loss() -> float:
        net.dropout.rng = np.random.default_rng(9)  # the same dropout mask every time
        return step.forward(x, yA, labels).loss

    loss()
    step.update()
    analytics = [p.grad.copy() for p in net.parameters()]  # loss() adds to b2B's gradient
    for p, analytic in zip(net.parameters(), analytics, strict=True):
        numeric = numeric_gradient(loss, p.data, eps=1e-6)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_step_draws_the_networks_masks_and_leaves_its_generator_there(dtype):
    """Three steps: each mask is the one the network's own forward draws (same seed), and
    the Generator ends where the network's ends (a checkpoint saves the same state)."""
    net, x, yA, labels = setup(dtype)
    plain, *_ = setup(dtype)
    step = fused(net)
    for _ in range(3):
        step.forward(x, yA, labels)
        plain.loss(x, yA, labels)
        np.testing.assert_array_equal(step._mask, plain.residuals.M)
    assert net.dropout.rng.bit_generator.state == plain.dropout.rng.bit_generator.state
