"""Splitting a pass over two cores (`handgrad.fast.pair`) changes no number: the split
Bernoulli NLL and the split Adam update equal their one-core versions bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast import pair
from handgrad.fast.kernels import bernoulli_nll as kb
from handgrad.fast.kernels.adam import adam_step
from handgrad.nn.module import Parameter
from handgrad.optim import FLUSH_EVERY, Adam
from tests.fast.conftest import DTYPES


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


@pytest.fixture
def two_cores(monkeypatch):
    """Split passes on, whatever this machine and its OpenBLAS settings would choose."""
    monkeypatch.setattr(pair, "enabled", lambda: True)


def test_both_runs_both_calls_and_raises_the_workers_error(two_cores):
    out: list[int] = []
    pair.both(out.append, (1,), out.append, (2,))
    assert sorted(out) == [1, 2]

    def fail() -> None:
        raise ValueError("there")

    with pytest.raises(ValueError, match="there"):
        pair.both(out.append, (3,), fail, ())
    pair.both(out.append, (4,), out.append, (5,))  # the worker still serves
    assert sorted(out) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [128, 129])
def test_split_bernoulli_nll_is_bernoulli_nll_to_the_bit(rng, dtype, m, monkeypatch):
    n = 784
    logits = (3 * rng.standard_normal((m, n))).astype(dtype)
    x = rng.random((m, n)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    bgrad = rng.standard_normal(n).astype(dtype)
    outs = []
    for split in (True, False):
        monkeypatch.setattr(pair, "enabled", lambda split=split: split)
        lg, rows, bg = logits.copy(), np.empty(m, dtype), bgrad.copy()
        kb.bernoulli_nll(lg, b, x, dtype(1 / m), rows, bg)
        outs.append((lg, rows, bg))
    assert logits.size >= pair.SPLIT_MIN
    for a, c in zip(*outs, strict=True):
        assert np.array_equal(bits(a), bits(c))


@pytest.mark.parametrize("dtype", DTYPES)
def test_split_adam_is_one_core_adam_to_the_bit(rng, dtype, monkeypatch):
    shapes = [(300, 200), (200,), (7, 3)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [
        [rng.standard_normal(s).astype(dtype) * (i % 3) for s in shapes]
        for i in range(FLUSH_EVERY + 2)
    ]
    results = []
    for split in (True, False):
        monkeypatch.setattr(pair, "enabled", lambda split=split: split)
        ps = [Parameter(a.copy()) for a in init]
        opt = Adam(ps, lr=1e-3, weight_decay=0.01)
        for step in grads:
            for p, g in zip(ps, step, strict=True):
                p.grad = g.copy()
            adam_step(opt, grad_scale=2.0)
        results.append(([p.data for p in ps], opt.state_dict()))
    (d1, s1), (d2, s2) = results
    for a, c in zip(d1, d2, strict=True):
        assert np.array_equal(bits(a), bits(c))
    for key in s1:
        assert np.array_equal(bits(np.asarray(s1[key])), bits(np.asarray(s2[key])))


def test_split_only_with_openblas_workers_that_sleep_soon(monkeypatch):
    from handgrad import blas_env

    monkeypatch.setattr(pair, "_enabled", None)
    monkeypatch.setattr(pair, "cores", lambda: 2)
    monkeypatch.setattr(blas_env, "short_spin", lambda: False)
    assert not pair.enabled()
    monkeypatch.setattr(pair, "_enabled", None)
    monkeypatch.setattr(blas_env, "short_spin", lambda: True)
    assert pair.enabled()
