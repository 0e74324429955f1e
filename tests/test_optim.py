"""SGD and Adam against hand-written formulas, schedules, state round-trips, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.nn import Linear, Parameter
from handgrad.optim import (
    FLUSH_EVERY,
    OPTIMIZERS,
    SGD,
    Adam,
    ConstantLR,
    CosineLR,
    StepLR,
    flush_threshold,
)

STEPS = 5


def _params(dtype=np.float64, seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in [(3, 2), (4,)]]


def _grads(step: int, params: list[Parameter]) -> list[np.ndarray]:
    """A fixed, step-dependent gradient for each parameter."""
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(p.shape).astype(p.data.dtype) for p in params]


def _run(opt, params: list[Parameter], steps: int = STEPS, start: int = 0) -> None:
    """``steps`` steps on the fixed gradients."""
    for t in range(start, start + steps):
        for p, g in zip(params, _grads(t, params), strict=True):
            p.grad[...] = g
        opt.step()


def _sgd_reference(theta, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    """PyTorch's SGD, written out: g = ∇ + λθ; v = μv + g; θ −= lr·(g + μv if nesterov else v)."""
    theta = [t.copy() for t in theta]
    v = [np.zeros_like(t) for t in theta]
    for step in range(STEPS):
        for i, g in enumerate(_grads(step, [Parameter(t) for t in theta])):
            g = g + weight_decay * theta[i]
            if momentum:
                v[i] = momentum * v[i] + g
                g = g + momentum * v[i] if nesterov else v[i]
            theta[i] = theta[i] - lr * g
    return theta


def _adam_reference(theta, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
    """Kingma & Ba's Algorithm 1 (with AdamW's decoupled decay θ ← θ(1 − lr λ) first)."""
    theta = [t.copy() for t in theta]
    m = [np.zeros_like(t) for t in theta]
    v = [np.zeros_like(t) for t in theta]
    for t in range(1, STEPS + 1):
        for i, g in enumerate(_grads(t - 1, [Parameter(x) for x in theta])):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            theta[i] = theta[i] * (1 - lr * weight_decay)
            theta[i] = theta[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


SGD_SETTINGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.01},
    {"momentum": 0.5, "weight_decay": 0.1, "nesterov": True},
]


@pytest.mark.parametrize("kwargs", SGD_SETTINGS, ids=lambda k: ",".join(k) or "plain")
def test_sgd_matches_the_formulas(kwargs):
    params = _params()
    expected = _sgd_reference([p.data for p in params], 0.1, **kwargs)
    _run(SGD(params, lr=0.1, **kwargs), params)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-13, atol=1e-15)


def test_plain_sgd_single_step_by_hand():
    p = Parameter(np.array([1.0, -2.0]))
    p.grad[...] = [0.5, 4.0]
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.4], rtol=1e-15)


@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.05}, {"betas": (0.5, 0.9)}])
def test_adam_matches_the_reference(kwargs):
    params = _params()
    ref_kwargs = dict(kwargs)
    if "betas" in ref_kwargs:
        ref_kwargs["b1"], ref_kwargs["b2"] = ref_kwargs.pop("betas")
    expected = _adam_reference([p.data for p in params], 0.01, **ref_kwargs)
    _run(Adam(params, lr=0.01, **kwargs), params)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_entry_by_lr():
    """After one step m̂ = g and v̂ = g², so every entry moves by lr·g/(|g| + ε) ≈ ±lr."""
    p = Parameter(np.zeros(3))
    p.grad[...] = [2.0, -0.5, 1e-3]
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [-0.1, 0.1, -0.1], rtol=1e-4)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_stays_float32(name):
    params = _params(np.float32)
    opt = OPTIMIZERS[name](params, lr=0.01)
    _run(opt, params)
    assert all(p.data.dtype == np.float32 for p in params)
    assert all(a.dtype == np.float32 for k, a in opt.state_dict().items() if "." in k)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
    ],
    ids=["sgd-nesterov", "sgd-plain", "adam"],
)
def test_state_dict_round_trip_gives_identical_steps(make):
    a_params, b_params = _params(), _params(seed=1)
    a = make(a_params)
    _run(a, a_params, steps=3)
    for pa, pb in zip(a_params, b_params, strict=True):
        pb.data[...] = pa.data
    b = make(b_params)
    b.load_state_dict(a.state_dict())
    assert b.t == a.t == 3
    _run(a, a_params, steps=3, start=3)
    _run(b, b_params, steps=3, start=3)
    for pa, pb in zip(a_params, b_params, strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_load_state_dict_mismatch_raises():
    params = _params()
    adam_state = Adam(params).state_dict()
    with pytest.raises(HandgradError, match=r"missing \['velocity.0', 'velocity.1'\]"):
        SGD(params, momentum=0.9).load_state_dict(Adam(params).state_dict() | {"m.0": 0})
    with pytest.raises(HandgradError, match="unexpected"):
        SGD(params).load_state_dict(adam_state)
    bad = dict(adam_state)
    bad["m.0"] = np.zeros(5)
    with pytest.raises(HandgradError, match=r"m.0 has shape \(5,\)"):
        Adam(params).load_state_dict(bad)


def test_zero_grad():
    params = _params()
    for p in params:
        p.grad += 1
    SGD(params).zero_grad()
    assert all(not p.grad.any() for p in params)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda ps: SGD(ps, lr=0), "learning rate"),
        (lambda ps: SGD(ps, lr=float("nan")), "learning rate"),
        (lambda ps: SGD(ps, momentum=1.0), "momentum"),
        (lambda ps: SGD(ps, momentum=-0.1), "momentum"),
        (lambda ps: SGD(ps, weight_decay=-1), "weight decay"),
        (lambda ps: SGD(ps, nesterov=True), "Nesterov"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), "betas"),
        (lambda ps: Adam(ps, eps=0), "eps"),
        (lambda ps: SGD([]), "no parameters"),
        (lambda ps: SGD(Linear(2, 2)), "pass model.parameters"),
        (lambda ps: SGD([ps[0], "w"]), "Parameter objects"),
    ],
)
def test_bad_hyperparameters_raise(make, match):
    with pytest.raises(HandgradError, match=match):
        make(_params())


def _opt(lr: float = 0.1) -> SGD:
    return SGD(_params(), lr=lr)


def test_step_lr_reproduces_the_reference_schedule():
    opt = _opt(0.1)
    sched = StepLR(opt, step=20, gamma=0.1)
    lrs = [opt.lr]
    for _ in range(59):
        lrs.append(sched.step())
    assert len(lrs) == 60
    np.testing.assert_allclose(lrs[:20], 0.1, rtol=1e-12)
    np.testing.assert_allclose(lrs[20:40], 0.01, rtol=1e-12)
    np.testing.assert_allclose(lrs[40:], 0.001, rtol=1e-12)
    assert opt.lr == lrs[-1]


def test_cosine_lr_values():
    opt = _opt(0.2)
    sched = CosineLR(opt, total_epochs=4, min_lr=0.02)
    lrs = [sched.step() for _ in range(6)]
    expected = [0.02 + 0.09 * (1 + math.cos(math.pi * e / 4)) for e in range(1, 5)]
    np.testing.assert_allclose(lrs[:4], expected, rtol=1e-12)
    assert lrs[3] == pytest.approx(0.02) and lrs[4] == lrs[5] == lrs[3]  # held at the minimum
    assert sched.lr_at(0) == pytest.approx(0.2)


def test_constant_lr():
    opt = _opt(0.3)
    sched = ConstantLR(opt)
    assert [sched.step() for _ in range(3)] == [0.3, 0.3, 0.3]


def test_schedule_state_round_trip():
    a_opt, b_opt = _opt(0.1), _opt(0.1)
    a, b = StepLR(a_opt, step=2), StepLR(b_opt, step=2)
    for _ in range(5):
        a.step()
    b.load_state_dict(a.state_dict())
    assert b.epoch == 5 and b_opt.lr == a_opt.lr
    assert b.step() == a.step()
    with pytest.raises(HandgradError, match="epoch"):
        b.load_state_dict({})


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda o: StepLR(o, step=0), "step"),
        (lambda o: StepLR(o, gamma=0), "gamma"),
        (lambda o: CosineLR(o, total_epochs=0), "total epochs"),
        (lambda o: CosineLR(o, total_epochs=3, min_lr=-1), "minimum learning rate"),
    ],
)
def test_bad_schedule_settings_raise(make, match):
    with pytest.raises(HandgradError, match=match):
        make(_opt())


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, lr=0.01, weight_decay=0.05),
    ],
)
def test_step_on_gradients_of_a_scaled_loss_is_the_same_update(make):
    """Gradients of s · L with step(grad_scale=s) give the update of the plain gradients
    (to rounding); plain SGD asks for s = lr, every other optimiser for 1."""
    plain, scaled = _params(), _params()
    opt_plain, opt_scaled = make(plain), make(scaled)
    s = opt_scaled.grad_scale
    assert s == (0.1 if isinstance(opt_scaled, SGD) and opt_scaled.plain else 1.0)
    for t in range(STEPS):
        for p, q, g in zip(plain, scaled, _grads(t, plain), strict=True):
            p.grad[...], q.grad[...] = g, 4.0 * g
        opt_plain.step()
        opt_scaled.step(grad_scale=4.0)
    for p, q in zip(plain, scaled, strict=True):
        np.testing.assert_allclose(q.data, p.data, rtol=1e-13, atol=1e-15)
    with pytest.raises(HandgradError, match="grad_scale must be a positive number"):
        opt_scaled.step(grad_scale=0.0)


def test_plain_sgd_with_the_lr_folded_in_subtracts_the_gradient_exactly():
    p = Parameter(np.array([1.0, -2.0], np.float32))
    opt = SGD([p], lr=0.1)
    p.grad[...] = [0.05, 0.4]  # the gradient of lr · L
    opt.step(grad_scale=opt.grad_scale)
    np.testing.assert_array_equal(p.data, np.float32([1.0, -2.0]) - np.float32([0.05, 0.4]))


@pytest.mark.parametrize("make", [lambda ps: Adam(ps), lambda ps: SGD(ps, momentum=0.9)])
def test_tiny_optimiser_state_is_flushed_to_zero_on_flush_steps_only(make):
    p = Parameter(np.ones(4, np.float32))
    opt = make([p])
    state = opt.m[0] if isinstance(opt, Adam) else opt.velocity[0]
    tiny = flush_threshold(np.float32) / 2
    for t in range(1, FLUSH_EVERY + 1):
        state[...] = [tiny, -tiny, 1.0, 0.0]
        p.grad[...] = 0
        opt.step()
        assert (state[:2] == 0).all() == (t == FLUSH_EVERY)
        assert state[2] != 0
