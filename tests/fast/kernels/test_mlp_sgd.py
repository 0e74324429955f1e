"""The compiled plain-SGD loop of the one-hidden-layer MLP (`mlp_sgd_steps`, run through
`SteppedMLP` and `FusedMLPStep.train_chunk`): the same numbers on one thread or two and
with its rows gathered ahead or as it goes; it stops before a step it must not take;
and a fused step's chunk trains as the numpy engine's does. (Its equality with the
readable formula, step by step, is tests/fast/test_kernels.py's.)"""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast import blas, pair
from handgrad.fast import engine as engines
from handgrad.fast.kernels.mlp_sgd import SteppedMLP
from handgrad.models.mlp import MLP
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.optim import SGD
from tests.fast.conftest import DTYPES

pytestmark = pytest.mark.skipif(blas.available() is None, reason="no OpenBLAS to call")


def problem(dtype, n=50, d=30, hidden=9, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, d)).astype(dtype), rng.integers(0, k, n)
    shapes = [(hidden, d), (hidden,), (k, hidden), (k,)]
    weights = [(0.3 * rng.standard_normal(s)).astype(dtype) for s in shapes]
    return x, y, weights, rng.permutation(n)


def run(x, y, weights, batch, split=False, index=None, lr=0.2):
    weights = [w.copy() for w in weights]
    losses, correct, taken, together = SteppedMLP(*weights, batch)(x, y, lr, split, index)
    assert together == split
    return weights, losses, correct, taken


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.skipif(pair.cores() < 2, reason="two threads need two cores")
def test_two_threads_give_the_numbers_of_one_bit_for_bit(dtype):
    x, y, weights, order = problem(dtype, d=400, hidden=60)  # 7·400·60 ≥ the split's minimum
    one = run(x, y, weights, 7, False, order)
    two = run(x, y, weights, 7, True, order)  # asserts that two threads ran
    for a, b in zip(one[0], two[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_array_equal(one[2], two[2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gathering_as_it_goes_equals_rows_gathered_ahead(dtype):
    x, y, weights, order = problem(dtype)
    ahead = run(x[order], y[order], weights, 8)
    going = run(x, y, weights, 8, index=order)
    for a, b in zip(ahead[0], going[0], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ahead[1], going[1])
    assert ahead[3] == going[3] == 7  # 50 rows: 6 batches of 8 and one of 2


def test_a_step_with_a_non_finite_loss_is_not_taken():
    x, y, weights, _ = problem(np.float64)
    weights_after, losses, _, taken = run(x, y, weights, 5, lr=1e300)  # overflows soon
    assert 0 < taken < 10 and len(losses) == taken + 1
    assert np.isfinite(losses[:-1]).all() and not np.isfinite(losses[-1])
    before, *_ = run(x[: 5 * taken], y[: 5 * taken], weights, 5, lr=1e300)
    for a, b in zip(weights_after, before, strict=True):  # the last step left no trace
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_fused_chunk_trains_as_the_numpy_engine_steps(dtype):
    """`FusedMLPStep.train_chunk` (compiled) and the numpy engine's `PlainStep` loop on
    the same batches: same losses, correct counts and weights, to rounding."""
    x, y, _, order = problem(dtype, n=64, d=20, hidden=10, k=3)
    outs, params = {}, {}
    for name in ("numpy", "fused"):
        model = MLP([20, 10, 3], seed=4, dtype=dtype)
        step = engines.get(name).step(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.3))
        assert step.gathers_rows == (name == "fused")
        outs[name] = step.train_chunk((x, y), 6, order)
        params[name] = [p.data for p in model.parameters()]
    tol = 1e-10 if dtype == np.float64 else 2e-5
    assert [o.correct for o in outs["numpy"]] == [o.correct for o in outs["fused"]]
    np.testing.assert_allclose([o.loss for o in outs["fused"]], [o.loss for o in outs["numpy"]],
                               rtol=tol)  # fmt: skip
    for a, b in zip(params["fused"], params["numpy"], strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_a_label_outside_the_classes_names_it():
    x, y, _, _ = problem(np.float32, k=4)
    y[17] = 9
    model = MLP([30, 9, 4], dtype=np.float32)
    step = engines.get("fused").step(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.1))
    with pytest.raises(HandgradError, match="label 9 is outside the 4 classes"):
        step.train_chunk((x, y), 5)


def test_other_optimisers_and_depths_step_batch_by_batch():
    for sizes, opt in (([30, 9, 4], {"momentum": 0.9}), ([30, 9, 5, 4], {})):
        model = MLP(sizes, dtype=np.float32)
        step = engines.get("fused").step(model, SoftmaxCrossEntropy(),
                                         SGD(model.parameters(), 0.1, **opt))  # fmt: skip
        assert not step.gathers_rows
        assert step.used == "fused: fused training step"  # what provenance.json records


def test_the_step_says_it_runs_a_compiled_loop():
    model = MLP([30, 9, 4], dtype=np.float32)
    step = engines.get("fused").step(model, SoftmaxCrossEntropy(), SGD(model.parameters(), 0.1))
    assert step.used == "fused: compiled training loop (train_chunk), fused steps otherwise"
