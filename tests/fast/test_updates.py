"""The fast optimisers equal the formulas of `handgrad.optim`: bit for bit for SGD, to
rounding for Adam's regrouped algebra; scaled gradients, flushing and blocks."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast import NUMPY
from handgrad.fast.updates import (
    BLOCK,
    FLUSH_EVERY,
    FastAdam,
    FastSGD,
    flush_threshold,
    flush_tiny,
    step_folding_lr,
)
from handgrad.nn import Parameter
from handgrad.optim import SGD, Adam

SGD_SETTINGS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.01},
    {"momentum": 0.5, "weight_decay": 0.1, "nesterov": True},
]
ADAM_SETTINGS = [{}, {"weight_decay": 0.05}, {"betas": (0.5, 0.9)}]
STEPS = FLUSH_EVERY - 1  # flushing (a fast-only trick) is tested on its own below


def _params(dtype, shapes=((3, 2), (4,)), seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]


def _run(opt, params, steps: int = STEPS, scale: float = 1.0) -> None:
    """Steps on fixed random gradients; with ``scale`` they are of scale · L and a fast
    `step` is told so."""
    for t in range(steps):
        rng = np.random.default_rng(100 + t)
        for p in params:
            p.grad[...] = scale * rng.standard_normal(p.shape).astype(p.data.dtype)
        opt.step(grad_scale=scale) if isinstance(opt, (FastSGD, FastAdam)) else opt.step()


def _fast(opt):
    NUMPY.prepare(opt)
    assert type(opt) in (FastSGD, FastAdam)
    return opt


def _pair(make, dtype, shapes=((3, 2), (4,))):
    plain_params, fast_params = _params(dtype, shapes), _params(dtype, shapes)
    return plain_params, make(plain_params), fast_params, _fast(make(fast_params))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", SGD_SETTINGS, ids=lambda k: ",".join(k) or "plain")
def test_fast_sgd_is_sgd_bit_for_bit(kwargs, dtype):
    pp, plain, fp, fast = _pair(lambda ps: SGD(ps, lr=0.1, **kwargs), dtype)
    _run(plain, pp)
    _run(fast, fp)
    for a, b in zip(pp, fp, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    for key, value in plain.state_dict().items():
        np.testing.assert_array_equal(fast.state_dict()[key], value)


def _assert_close_to_scale(actual, expected, rtol):
    """|actual − expected| ≤ rtol · scale entrywise, scale = the larger of max|expected|
    and the gradients' scale (1: g ~ N(0, 1)). Regrouped, v ← β2 (v − g²) + g² rounds at
    the scale of g², not of v ≪ g², and a near-cancelling entry (a moment near 0) has no
    digits of its own: the array's scale is what rounding is measured against."""
    expected = np.asarray(expected, dtype=np.float64)
    err = np.abs(np.asarray(actual, dtype=np.float64) - expected).max()
    scale = max(np.abs(expected).max(), 1.0)
    assert err <= rtol * scale, (err, scale)


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("kwargs", ADAM_SETTINGS, ids=lambda k: ",".join(k) or "plain")
@pytest.mark.parametrize("shapes", [((3, 2), (4,)), ((BLOCK + 5,),)], ids=["small", "blocks"])
def test_fast_adam_equals_the_paper_formula(kwargs, dtype, rtol, shapes):
    pp, plain, fp, fast = _pair(lambda ps: Adam(ps, lr=0.01, **kwargs), dtype, shapes)
    _run(plain, pp)
    _run(fast, fp)
    for a, b in zip(pp, fp, strict=True):
        _assert_close_to_scale(b.data, a.data, rtol)
    for key, value in plain.state_dict().items():
        _assert_close_to_scale(fast.state_dict()[key], value, rtol)


@pytest.mark.parametrize("scale", [0.1, 3.0])
@pytest.mark.parametrize(
    "make",
    [
        *(lambda ps, k=k: SGD(ps, lr=0.1, **k) for k in SGD_SETTINGS),
        lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
    ],
    ids=[",".join(k) or "plain" for k in SGD_SETTINGS] + ["adam"],
)
def test_step_with_scaled_gradients_is_the_same_step(make, scale):
    """Gradients of s · L with step(grad_scale=s) give the update of the plain gradients."""
    a_params, b_params = _params(np.float64), _params(np.float64)
    _run(_fast(make(a_params)), a_params)
    _run(_fast(make(b_params)), b_params, scale=scale)
    for pa, pb in zip(a_params, b_params, strict=True):
        np.testing.assert_allclose(pb.data, pa.data, rtol=1e-12, atol=1e-14)


def test_grad_scale_folds_the_learning_rate_into_plain_sgd_only():
    """Plain SGD asks for gradients of lr · L and then only subtracts them: θ ← θ − g."""
    params = _params(np.float64)
    assert _fast(SGD(params, lr=0.1)).grad_scale == 0.1
    for opt in (SGD(params, lr=0.1, momentum=0.9), SGD(params, weight_decay=0.1), Adam(params)):
        assert _fast(opt).grad_scale == 1.0
    p = Parameter(np.array([1.0, -2.0]))
    p.grad[...] = [0.05, 0.4]  # already lr · ∇ for ∇ = (0.5, 4), lr = 0.1
    _fast(SGD([p], lr=0.1)).step(grad_scale=0.1)
    np.testing.assert_array_equal(p.data, [0.95, -2.4])
    with pytest.raises(HandgradError, match="grad_scale must be a positive number"):
        _fast(SGD([p], lr=0.1)).step(grad_scale=0.0)


@pytest.mark.parametrize("fast", [False, True])
def test_step_folding_lr_seeds_the_backward_with_what_the_optimiser_takes(fast):
    p = Parameter(np.array([1.0, -2.0]))
    opt = SGD([p], lr=0.1)
    if fast:
        _fast(opt)
    seeds = []

    def backward(dloss: float) -> None:
        seeds.append(dloss)
        p.grad += dloss * np.array([0.5, 4.0])  # ∂(dL · L)/∂θ for ∇L = (0.5, 4)

    p.grad[...] = 99  # stale: the step zeroes the gradient first
    step_folding_lr(opt, backward)
    assert seeds == [0.1 if fast else 1.0]
    np.testing.assert_allclose(p.data, [0.95, -2.4], rtol=1e-15)


def _is_subnormal(a: np.ndarray) -> np.ndarray:
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


@pytest.mark.parametrize(
    "make, state",
    [
        (lambda ps: Adam(ps, lr=1e-3), lambda opt: opt.m + opt.v),
        (lambda ps: SGD(ps, lr=1e-3, momentum=0.9), lambda opt: opt.velocity),
    ],
    ids=["adam", "sgd-momentum"],
)
def test_state_of_a_weight_without_gradient_never_turns_subnormal(make, state):
    """A gradient that stops (an MNIST border pixel's) leaves the state decaying by β
    per step, through the slow subnormal range unless it is flushed to 0 first."""
    p = Parameter(np.ones(4, dtype=np.float32))
    opt = _fast(make([p]))
    p.grad[...] = 1.0
    opt.step()
    seen_tiny = False
    for _ in range(1200):  # 0.9^t takes m from 0.1 to below 1e-38 near t = 790
        p.grad[...] = 0.0
        opt.step()
        assert not any(_is_subnormal(a).any() for a in state(opt))
        seen_tiny |= any(((a != 0) & (np.abs(a) < 1e-20)).any() for a in state(opt))
    assert seen_tiny  # the state did decay that far, so the flush was what kept it normal
    assert np.isfinite(p.data).all()


def test_flush_tiny_zeroes_only_entries_far_below_any_step():
    t = flush_threshold(np.dtype(np.float32))
    a = np.array([0.0, 1e-3, -2.5, t, -t, t / 2, -t / 1e3, 1e-39], dtype=np.float32)
    before = a.copy()
    flush_tiny(a, np.empty_like(a))
    np.testing.assert_array_equal(a[:5], before[:5])
    np.testing.assert_array_equal(a[5:], 0)
