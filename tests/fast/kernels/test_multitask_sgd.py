"""The multi-task network's compiled plain-SGD chunk (`FusedMultiTaskStep.train_chunk`
over `multitask_sgd_steps`): the dropout masks drawn in pieces give the run of one
draw per step; it stops before a step it must not take; a bad label is named; other
optimisers step batch by batch. (Its equality with the readable formula step by step
is tests/fast/test_kernels.py's.)"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.fast import blas, pair
from handgrad.fast import engine as engines
from handgrad.fast.steps import multitask as steps
from handgrad.models.multitask import MultiTaskNet
from handgrad.optim import SGD, Adam

pytestmark = pytest.mark.skipif(blas.available() is None, reason="no OpenBLAS to call")


def problem(n=41):
    rng = np.random.default_rng(0)
    net = MultiTaskNet(6, 8, 3, 4, p=0.4, seed=1, dtype=np.float32)
    x, ya = rng.standard_normal((n, 6), np.float32), rng.standard_normal((n, 3), np.float32)
    return net, x, ya, rng.integers(0, 4, n)


def train(net, rows, batch, lr=0.1, optimizer=SGD):
    net = copy.deepcopy(net)
    step = engines.get("fused").step(net, None, optimizer(net.parameters(), lr=lr))
    return net, step, step.train_chunk(rows, batch)


def test_masks_drawn_in_pieces_give_the_run_of_one_piece(monkeypatch):
    net, x, ya, labels = problem()
    whole, _, outs = train(net, (x, ya, labels), 4)
    monkeypatch.setattr(steps, "MASKS_BYTES", 8 * 8 * 4)  # pieces of 8 rows: 2 batches
    pieces, step, outs_pieces = train(net, (x, ya, labels), 4)
    assert step.compiled_chunks() and len(outs) == len(outs_pieces) == 11
    assert [o.loss for o in outs] == [o.loss for o in outs_pieces]
    for a, b in zip(whole.parameters(), pieces.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert whole.dropout.rng.random() == pieces.dropout.rng.random()


@pytest.mark.skipif(pair.cores() < 2, reason="two threads need two cores")
def test_two_threads_give_the_numbers_of_one_bit_for_bit(monkeypatch):
    net, x, ya, labels = problem()
    runs = {}
    for minimum in (1 << 62, 0):  # one thread, then two
        monkeypatch.setattr(pair, "STEP_SPLIT_MIN_MACS", minimum)
        together = []

        def recording(run, macs, together=together):
            taken, two = pair.split_steps(run, macs)
            together.append(two)
            return taken, two

        monkeypatch.setattr(steps, "split_steps", recording)
        runs[minimum] = train(net, (x, ya, labels), 4)
        assert together and all(t == (minimum == 0) for t in together)
    (one, _, outs_one), (two, _, outs_two) = runs.values()
    assert [o.loss for o in outs_one] == [o.loss for o in outs_two]
    for a, b in zip(one.parameters(), two.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(one.running_mean, two.running_mean)


def test_a_step_with_a_non_finite_loss_is_not_taken():
    net, x, ya, labels = problem()
    ya[13] = np.inf  # batch 3 of 4-row batches
    after, _, outs = train(net, (x, ya, labels), 4)
    assert len(outs) == 4 and not np.isfinite(outs[-1].loss)
    first, _, _ = train(net, (x[:12], ya[:12], labels[:12]), 4)
    for a, b in zip(after.parameters(), first.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    # the dropout Generator drew the masks of the three steps taken and of the step not
    # taken (as a step at a time draws them), no more
    through, _, _ = train(net, (x[:16], ya[:16], labels[:16]), 4)
    assert after.dropout.rng.bit_generator.state == through.dropout.rng.bit_generator.state


def test_a_label_outside_the_classes_names_it():
    net, x, ya, labels = problem()
    labels[9] = 7
    with pytest.raises(HandgradError, match="label 7 is outside the 4 classes"):
        train(net, (x, ya, labels), 4)


def test_other_optimisers_step_batch_by_batch():
    net, x, ya, labels = problem()
    _, step, outs = train(net, (x, ya, labels), 4, lr=0.01, optimizer=Adam)
    assert not step.compiled_chunks() and len(outs) == 11
