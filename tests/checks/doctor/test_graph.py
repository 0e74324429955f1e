"""The truth engines agree, and the mistake-making backward makes none when asked for none."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.checks.doctor.diagnose import GraphDoctor
from handgrad.checks.doctor.graph import draw_batch, finite_differences
from handgrad.checks.doctor.mistakes import Backprop
from handgrad.checks.doctor.problems import PROBLEMS


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_autograd_truth_equals_finite_differences(name):
    problem = PROBLEMS[name]
    batch = draw_batch(problem, 3, np.random.default_rng(7))
    for q in problem.quantities:
        if q in problem.jacobians:
            continue
        fd = finite_differences(problem, batch.leaves, q)
        np.testing.assert_allclose(batch.truth[q], fd, rtol=1e-5, atol=1e-8, err_msg=q)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_backprop_without_mistakes_is_the_truth(name):
    problem = PROBLEMS[name]
    batches = [draw_batch(problem, m, np.random.default_rng(m)) for m in (2, 5)]
    doctor = GraphDoctor(problem, batches)
    for i, b in enumerate(batches):
        for q in problem.quantities:
            np.testing.assert_allclose(doctor.candidate(q, i), b.truth[q], rtol=1e-10, atol=1e-14)


def test_softmax_jacobian_truth_is_diag_y_minus_y_yt():
    problem = PROBLEMS["softmax"]
    b = draw_batch(problem, 4, np.random.default_rng(0))
    y = b.values["y"]
    want = np.stack([np.diag(r) - np.outer(r, r) for r in y])
    np.testing.assert_allclose(b.truth["J"], want, atol=1e-14)


def test_every_catalogued_mistake_changes_something_and_q_is_read_only():
    problem = PROBLEMS["multitask"]
    batches = [draw_batch(problem, m, np.random.default_rng(m)) for m in (3, 5)]
    doctor = GraphDoctor(problem, batches)
    ids = {mk.id for mk in doctor.catalogue}
    stable = {"bn_factor", "bn_uncoupled", "relu_as_step", "no_task_b_term", "no_mask"}
    assert stable | {"unscaled_mask", "no_cos", "sin_for_cos"} <= ids
    with pytest.raises(ValueError):
        batches[0].q.x[0, 0] = 1.0
    run = Backprop(problem, batches[0]).run()
    assert set(problem.quantities) <= set(run)
