"""The compiled Adam loop of the MNIST-shaped VAE (`vae_adam_steps`, run through
`SteppedVAE` and `FusedVAEStep.train_chunk`): the same numbers on one thread or two and
with its rows in any order; ε drawn as a step at a time draws it; it stops before a
step it must not take, with the Generator where that step left it. (Its equality with
the readable formula, step by step, is tests/fast/test_kernels.py's.)"""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.fast import blas, pair
from handgrad.fast import engine as engines
from handgrad.fast.kernels.vae_adam import SteppedVAE
from handgrad.models.vae import VAE
from handgrad.optim import SGD, Adam
from tests.fast.conftest import DTYPES

pytestmark = pytest.mark.skipif(blas.available() is None, reason="no OpenBLAS to call")


def problem(dtype, n=70, d=64, hidden=64, k=3):
    x = np.random.default_rng(0).random((n, d)).astype(dtype)
    x[:, :5] = 0.0  # pixels that are always 0, as MNIST's borders
    vae = VAE(d, k, (hidden,), decoder="bernoulli", rng=np.random.default_rng(1), dtype=dtype)
    return x, vae


def params_of(vae):
    return [p for lin in (*vae.encoder.layers[::2], *vae.decoder.layers[::2])
            for p in (lin.weight, lin.bias)]  # fmt: skip


def run(x, vae, batch, split, index=None, lr=1e-2, seed=5):
    """Train ``vae`` in place with `SteppedVAE` (two threads where ``split``) on the
    batches of x[index]; (per-row terms, losses, steps taken, the Generator after)."""
    opt = Adam(vae.parameters(), lr=lr)
    stepped = SteppedVAE(params_of(vae), opt, batch)
    stepped.macs = stepped.macs if split else 0  # 0: below the split's minimum
    rng = np.random.default_rng(seed)
    index = np.arange(x.shape[0]) if index is None else index
    rec, kl, losses, taken = stepped(x, index, rng, 0.8, 1.0)
    assert opt.t == taken
    return rec, kl, losses, taken, rng


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.skipif(pair.cores() < 2, reason="two threads need two cores")
def test_two_threads_give_the_numbers_of_one_bit_for_bit(dtype):
    x, vae = problem(dtype)
    import copy

    one_vae, two_vae = copy.deepcopy(vae), copy.deepcopy(vae)
    assert SteppedVAE(params_of(vae), Adam(vae.parameters()), 32).macs >= pair.STEP_SPLIT_MIN_MACS
    one = run(x, one_vae, 32, False)
    two = run(x, two_vae, 32, True)
    for a, b in zip(one[:3], two[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    for p, q in zip(one_vae.parameters(), two_vae.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gathering_as_it_goes_equals_rows_gathered_ahead(dtype):
    import copy

    x, vae = problem(dtype)
    order = np.random.default_rng(2).permutation(x.shape[0])
    ahead_vae, going_vae = copy.deepcopy(vae), copy.deepcopy(vae)
    ahead = run(x[order], ahead_vae, 16, True)
    going = run(x, going_vae, 16, True, index=order)
    assert ahead[3] == going[3] == 5  # 70 rows: 4 batches of 16 and one of 6
    for a, b in zip(ahead[:3], going[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    for p, q in zip(ahead_vae.parameters(), going_vae.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_noise_is_drawn_as_a_step_at_a_time_draws_it():
    """The chunk's ε is one draw of (n, K); a step at a time draws (m, K) per batch: the
    same numbers, and the Generator ends in the same state."""
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    whole = a.standard_normal((70, 3), dtype=np.float32)
    steps = np.concatenate([b.standard_normal((m, 3), dtype=np.float32) for m in (16,) * 4 + (6,)])
    np.testing.assert_array_equal(whole, steps)
    assert a.bit_generator.state == b.bit_generator.state


def test_a_step_with_a_non_finite_loss_is_not_taken():
    import copy

    x, vae = problem(np.float32)
    before = copy.deepcopy(vae)
    rec, kl, losses, taken, rng = run(x, vae, 10, True, lr=1e30)  # overflows soon
    assert 0 < taken < 7 and len(losses) == taken + 1
    assert np.isfinite(losses[:-1]).all() and not np.isfinite(losses[-1])
    assert rec.shape == kl.shape == (10 * (taken + 1),)
    # the Generator drew the ε of the steps taken and of the step not taken, no more
    expected = np.random.default_rng(5)
    expected.standard_normal((10 * (taken + 1), 3), dtype=np.float32)
    assert rng.bit_generator.state == expected.bit_generator.state
    run(x[: 10 * taken], before, 10, True, lr=1e30)  # only the steps taken
    for p, q in zip(vae.parameters(), before.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)  # the last step left no trace


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("settings", [{}, {"weight_decay": 0.1, "betas": (0.8, 0.99)}])
def test_a_fused_chunk_trains_as_the_numpy_engine_steps(dtype, settings):
    """`FusedVAEStep.train_chunk` (compiled) and the numpy engine's `PlainStep` loop on
    the same batches with the same ε, under Adam and AdamW: the same terms and weights,
    to rounding."""
    import copy

    x, vae = problem(dtype, n=50, d=20, hidden=10)
    order = np.random.default_rng(3).permutation(50)
    outs, params = {}, {}
    for name in ("numpy", "fused"):
        model = copy.deepcopy(vae)
        opt = Adam(model.parameters(), lr=1e-2, **settings)
        step = engines.get(name).step(model, None, opt)
        assert step.gathers_rows == (name == "fused")
        outs[name] = step.train_chunk((x,), 8, order, rng=np.random.default_rng(6))
        outs[name] += step.train_chunk((x,), 8, order, rng=np.random.default_rng(7))
        params[name] = [p.data for p in model.parameters()]
    tol = 1e-10 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose([o.loss for o in outs["fused"]], [o.loss for o in outs["numpy"]],
                               rtol=tol)  # fmt: skip
    for a, b in zip(params["fused"], params["numpy"], strict=True):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_replaced_arrays_are_picked_up():
    """A chunk after the optimiser's state or a parameter was replaced by new arrays
    trains those, not the ones the compiled loop was first built on."""
    x, vae = problem(np.float32, n=20, d=8, hidden=4)
    opt = Adam(vae.parameters(), lr=1e-2)
    step = engines.get("fused").step(vae, None, opt)
    step.train_chunk((x,), 10, rng=np.random.default_rng(0))
    old_m, old_w = opt.m, vae.parameters()[0].data
    snapshot = [a.copy() for a in (*old_m, old_w)]
    opt.m = [np.zeros_like(a) for a in opt.m]
    vae.parameters()[0].data = old_w.copy()
    step.train_chunk((x,), 10, rng=np.random.default_rng(0))
    assert opt.t == 4 and all(np.abs(m).max() > 0 for m in opt.m)
    assert not np.array_equal(vae.parameters()[0].data, old_w)
    for a, b in zip((*old_m, old_w), snapshot, strict=True):
        np.testing.assert_array_equal(a, b)  # the replaced arrays were left alone


def test_other_optimisers_and_depths_step_batch_by_batch():
    for hidden, make in (((6,), lambda ps: SGD(ps, 0.1)), ((6, 5), lambda ps: Adam(ps))):
        vae = VAE(8, 2, hidden, decoder="bernoulli")
        step = engines.get("fused").step(vae, None, make(vae.parameters()))
        assert not step.gathers_rows
        assert step.used == "fused: fused training step"  # what provenance.json records
        x = np.random.default_rng(0).random((12, 8)).astype(np.float32)
        outs = step.train_chunk((x,), 5, rng=np.random.default_rng(0))
        assert len(outs) == 3 and all(np.isfinite(o.loss) for o in outs)


def test_the_step_says_it_runs_a_compiled_loop():
    vae = VAE(8, 2, (6,), decoder="bernoulli")
    step = engines.get("fused").step(vae, None, Adam(vae.parameters()))
    assert step.used == "fused: compiled training loop (train_chunk), fused steps otherwise"
