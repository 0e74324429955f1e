"""FusedSGD and FusedAdam (one pass per parameter) equal the NumPy engine's FastSGD and
FastAdam bit for bit, on every option, over steps that include a flush of tiny state."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast.optim import FusedAdam, FusedSGD
from handgrad.fast.updates import FLUSH_EVERY, FastAdam, FastSGD, flush_threshold
from handgrad.nn.module import Parameter
from handgrad.optim import SGD, Adam
from tests.fast.conftest import DTYPES


def params(rng, dtype) -> list[Parameter]:
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in [(6, 5), (5,)]]


def run(opt_class, dtype, grad_scale: float, steps: int = FLUSH_EVERY + 2, **kwargs):
    """Parameters and state after ``steps`` steps on fixed random gradients."""
    rng = np.random.default_rng(5)
    ps = params(rng, dtype)
    opt = (SGD if issubclass(opt_class, SGD) else Adam)(ps, **kwargs)
    opt_class.adopt(opt)
    for _ in range(steps):
        for p in ps:
            p.grad = grad_scale * rng.standard_normal(p.shape).astype(dtype)
            p.grad[0] = 0  # state entries that decay towards the flush
        opt.step(grad_scale=grad_scale)
    return [p.data for p in ps], opt.state_dict()


def assert_same(fused, plain) -> None:
    (fd, fs), (pd, ps) = fused, plain
    for a, b in zip(fd, pd, strict=True):
        np.testing.assert_array_equal(a, b)
    assert fs.keys() == ps.keys()
    for key in fs:
        np.testing.assert_array_equal(fs[key], ps[key])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"momentum": 0.9},
        {"momentum": 0.9, "weight_decay": 1e-2, "nesterov": True},
        {"momentum": 0.5, "weight_decay": 1e-3},
        {"weight_decay": 1e-3},
        {},
    ],
)
@pytest.mark.parametrize("grad_scale", [1.0, 0.1])
def test_fused_sgd_is_sgd(dtype, kwargs, grad_scale):
    fused = run(FusedSGD, dtype, grad_scale, lr=0.1, **kwargs)
    assert_same(fused, run(FastSGD, dtype, grad_scale, lr=0.1, **kwargs))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [{}, {"weight_decay": 0.1, "betas": (0.8, 0.99)}])
@pytest.mark.parametrize("grad_scale", [1.0, 4.0])
def test_fused_adam_is_adam(dtype, kwargs, grad_scale):
    fused = run(FusedAdam, dtype, grad_scale, lr=1e-2, **kwargs)
    assert_same(fused, run(FastAdam, dtype, grad_scale, lr=1e-2, **kwargs))


def test_fused_adam_flushes_tiny_state_on_flush_steps():
    p = Parameter(np.ones(4, np.float32))
    opt = Adam([p])
    FusedAdam.adopt(opt)
    tiny = flush_threshold(np.float32) / 2
    for t in range(1, FLUSH_EVERY + 1):
        opt.m[0][...] = tiny
        p.grad = np.zeros(4, np.float32)
        opt.step()
        assert (opt.m[0] == 0).all() == (t == FLUSH_EVERY)
