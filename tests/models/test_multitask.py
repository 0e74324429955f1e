"""MultiTaskNet: every gradient against finite differences and against autograd.

The autograd reference is an independent plain-NumPy forward of the loss written here,
from the equations of the derivation, not from the model's code.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from handgrad.checks.network import check_problem, sample_problem
from handgrad.errors import HandgradError
from handgrad.gradcheck import compare
from handgrad.models.multitask import PARAM_NAMES, MultiTaskNet

# (m, n, h, a, b); m = 1 and m = 2 are where BN*'s batch coupling matters most.
SHAPES = [(1, 3, 4, 2, 3), (2, 4, 5, 3, 4), (2, 1, 2, 1, 2), (3, 2, 3, 4, 2), (7, 5, 4, 3, 6)]
DROPOUT = [0.0, 0.5]


def reference_loss(P: dict, x, yA, yB, M):
    """L = (1/m) Σ_i [½‖ŷA_i − yA_i‖² − Σ_k yB_ik log ŷB_ik], straight from the equations."""
    m = x.shape[0]
    x1A = anp.sin(anp.dot(x, P["theta1A"].T) + P["b1A"])
    yhatA = anp.dot(x1A * M, P["theta2A"].T) + P["b2A"]
    x1B = anp.dot(x, P["theta1B"].T)
    xBN = x1B - anp.mean(x1B, axis=0) + P["b1B"]
    z2B = anp.dot(yhatA + anp.maximum(xBN, 0.0), P["theta2B"].T) + P["b2B"]
    log_yhatB = z2B - anp.log(anp.sum(anp.exp(z2B), axis=1, keepdims=True))
    return (0.5 * anp.sum((yhatA - yA) ** 2) - anp.sum(yB * log_yhatB)) / m


def _mask(problem):
    return (
        np.ones((problem.x.shape[0], problem.net.n_hidden))
        if problem.mask is None
        else (problem.mask)
    )


@pytest.mark.parametrize("p", DROPOUT)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_match_autograd(shape, p):
    problem = sample_problem(*shape, p=p, seed=sum(shape))
    net = problem.net
    loss = problem.loss()
    net.zero_grad()
    net.loss_backward()
    P = {k: v.data.copy() for k, v in net.params.items()}
    args = (problem.x, problem.yA, problem.yB, _mask(problem))
    assert loss == pytest.approx(reference_loss(P, *args), rel=1e-12)
    auto = grad(reference_loss)(P, *args)
    for name in PARAM_NAMES:
        check = compare(name, net.params[name].grad, auto[name], rtol=1e-9)
        assert check.passed, (shape, p, name, check.max_rel_err)


@pytest.mark.parametrize("p", DROPOUT)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradients_match_finite_differences(shape, p):
    problem = sample_problem(*shape, p=p, seed=100 + sum(shape))
    problem.net.forward(problem.x, problem.mask, training=True)
    assert np.abs(problem.net.residuals.xBN).min() > 1e-4
    report = check_problem(problem, rtol=1e-6)
    assert [c.name for c in report.checks] == ["x", *PARAM_NAMES]
    assert report.passed, [(c.name, c.max_rel_err) for c in report.checks if not c.passed]


def test_single_row_batch_makes_theta1B_gradient_exactly_zero():
    problem = sample_problem(1, 3, 4, 2, 3, seed=4)  # one b1B entry > 0, one < 0
    problem.net.forward(problem.x, training=True)
    np.testing.assert_array_equal(problem.net.residuals.xBN[0], problem.net.b1B.data)
    problem.loss()
    problem.net.zero_grad()
    problem.net.loss_backward()
    assert not problem.net.theta1B.grad.any()
    # b1B still learns, through the units BN*'s ReLU lets through (xBN = b1B > 0)
    assert (problem.net.b1B.data > 0).any()
    np.testing.assert_array_equal(problem.net.b1B.grad != 0, problem.net.b1B.data > 0)


def test_interface_shapes_and_module_behaviour():
    net = MultiTaskNet(6, 5, 3, 4, p=0.5, seed=0)
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {
        "theta1A": (5, 6),
        "b1A": (5,),
        "theta2A": (3, 5),
        "b2A": (3,),
        "theta1B": (3, 6),
        "b1B": (3,),
        "theta2B": (4, 3),
        "b2B": (4,),
    }
    assert [id(p) for p in net.parameters()] == [id(p) for p in net.params.values()]
    assert set(net.state_dict()) == {*PARAM_NAMES, "running_mean"}
    assert net.eval() is net and not net.training
    net.train()
    assert net.training


def test_backward_accumulates_and_zero_grad_clears():
    problem = sample_problem(4, 3, 4, 2, 3, p=0.5, seed=1)
    net = problem.net
    problem.loss()
    net.zero_grad()
    net.loss_backward()
    once = {k: p.grad.copy() for k, p in net.params.items()}
    net.loss_backward()
    for k, p in net.params.items():
        np.testing.assert_allclose(p.grad, 2 * once[k], rtol=1e-12)
    net.zero_grad()
    assert all(not p.grad.any() for p in net.parameters())


def test_backward_before_loss_is_an_error():
    with pytest.raises(HandgradError, match=r"call net\.loss"):
        MultiTaskNet(3, 4, 2, 3).loss_backward()
    with pytest.raises(HandgradError, match=r"call net\.forward"):
        MultiTaskNet(3, 4, 2, 3).backward((np.zeros((1, 2)), np.zeros((1, 3))))


def test_float32_stays_float32():
    net = MultiTaskNet(4, 5, 3, 3, p=0.5, seed=0, dtype=np.float32)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    loss = net.loss(x, rng.standard_normal((6, 3)).astype(np.float32), rng.integers(0, 3, 6))
    assert np.isfinite(loss)
    dx = net.loss_backward()
    assert dx.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    yhatA, yhatB = net.predict(x)
    assert yhatA.dtype == yhatB.dtype == np.float32
    with pytest.raises(HandgradError, match="astype"):
        net.loss(x.astype(np.float64), np.zeros((6, 3)), np.zeros(6, dtype=int))


def test_integer_labels_give_the_same_loss_as_one_hot():
    problem = sample_problem(5, 3, 4, 2, 3, seed=2)
    labels = problem.yB.argmax(axis=1)
    assert problem.net.loss(problem.x, problem.yA, labels) == problem.loss()


def test_drawn_dropout_mask_is_seeded_and_inverted():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 4))
    masks = []
    for _ in range(2):
        net = MultiTaskNet(4, 8, 2, 3, p=0.25, seed=7)
        net.forward(x, training=True)
        masks.append(net.residuals.M)
    np.testing.assert_array_equal(masks[0], masks[1])
    assert set(np.unique(masks[0])) == {0.0, 1 / 0.75}
    assert 0.1 < np.mean(masks[0] == 0) < 0.4
    net = MultiTaskNet(4, 8, 2, 3, p=0.0)
    net.forward(x, training=True)
    assert (net.residuals.M == 1).all()


def test_predict_is_eval_mode_with_running_mean():
    net = MultiTaskNet(3, 4, 2, 3, p=0.5, seed=0)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 3))
    net.forward(x, training=True)
    mu = net.residuals.mu
    np.testing.assert_allclose(net.running_mean, 0.1 * mu, rtol=1e-12)
    before = net.running_mean.copy()
    yhatA, yhatB = net.predict(x)
    np.testing.assert_array_equal(net.running_mean, before)
    assert yhatA.shape == (6, 2) and yhatB.shape == (6, 3)
    np.testing.assert_allclose(yhatB.sum(axis=1), 1.0, rtol=1e-12)
    # eval mode: no dropout, no batch coupling, so a row's prediction ignores its batch
    one_A, one_B = net.predict(x[2:3])
    np.testing.assert_allclose(one_A[0], yhatA[2], rtol=1e-12)
    np.testing.assert_allclose(one_B[0], yhatB[2], rtol=1e-12)
    net.forward(x, training=False)
    q = net.residuals
    np.testing.assert_array_equal(q.mu, before)
    assert (q.M == 1).all()


def test_state_dict_round_trip():
    a = MultiTaskNet(3, 4, 2, 3, seed=0)
    a.forward(np.ones((2, 3)), training=True)
    b = MultiTaskNet(3, 4, 2, 3, seed=9)
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(0).standard_normal((4, 3))
    for u, v in zip(a.predict(x), b.predict(x), strict=True):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_in": 0}, "sizes"),
        ({"n_classes": 1}, "n_classes"),
        ({"p": 1.0}, "dropout p"),
        ({"dtype": np.int32}, "float dtype"),
    ],
)
def test_bad_construction(kwargs, match):
    args = {"n_in": 3, "n_hidden": 4, "n_out_a": 2, "n_classes": 3, **kwargs}
    with pytest.raises(HandgradError, match=match):
        MultiTaskNet(**args)


def test_bad_batches_are_one_line_errors():
    net = MultiTaskNet(3, 4, 2, 3, p=0.5)
    x = np.zeros((2, 3))
    yA, yB = np.zeros((2, 2)), np.eye(3)[[0, 1]]
    cases = [
        (lambda: net.loss(np.zeros((2, 4)), yA, yB), "shape \\(m, 3\\)"),
        (lambda: net.loss(x, np.zeros((2, 3)), yB), "yA must have shape"),
        (lambda: net.loss(x, yA, np.eye(4)[[0, 1]]), "yB must be one-hot"),
        (lambda: net.loss(x, yA, yB, mask=np.ones((2, 5))), "mask must have shape"),
        (lambda: net.loss(x, yA, yB, mask=np.ones((2, 4))), "0 or 1/\\(1 − p\\)"),
    ]
    for call, match in cases:
        with pytest.raises(HandgradError, match=match) as info:
            call()
        assert "\n" not in str(info.value)
