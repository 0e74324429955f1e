"""check_network: the multi-task backward vs finite differences, and that it catches bugs."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.checks.network import (
    DEFAULT_SHAPES,
    Problem,
    check_network,
    check_problem,
    sample_problem,
)
from handgrad.errors import HandgradError
from handgrad.models.multitask import PARAM_NAMES, MultiTaskNet


def test_every_default_case_passes_and_includes_m1_and_masks():
    reports = check_network()
    assert len(reports) == 2 * len(DEFAULT_SHAPES)
    assert any(r.subject.startswith("m=1 ") for r in reports)
    assert {"no dropout" in r.subject for r in reports} == {True, False}
    for r in reports:
        assert [c.name for c in r.checks] == ["x", *PARAM_NAMES]
        assert r.passed, r.rows()


def test_sample_problem_avoids_the_relu_kink_and_is_seeded():
    a = sample_problem(5, 3, 4, 2, 3, p=0.5, seed=3, kink_margin=0.05)
    a.net.forward(a.x, a.mask, training=True)
    xBN = a.net.residuals.xBN
    assert np.abs(xBN).min() > 0.05
    assert set(np.unique(a.mask)) <= {0.0, 2.0}
    b = sample_problem(5, 3, 4, 2, 3, p=0.5, seed=3, kink_margin=0.05)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.mask, b.mask)
    with pytest.raises(HandgradError, match="kink"):
        sample_problem(5, 3, 4, 2, 3, kink_margin=10.0, max_tries=3)


class _WrongB1B(MultiTaskNet):
    """A network whose backward forgets that ∂L/∂b1B is a sum over the batch (uses the mean)."""

    def backward(self, dy, *, input_grad=True):
        before = self.b1B.grad.copy()
        dx = super().backward(dy, input_grad=input_grad)
        m = self.residuals.m
        self.b1B.grad[...] = before + (self.b1B.grad - before) / m
        return dx


def test_a_wrong_gradient_fails_only_where_it_is_wrong():
    good = sample_problem(4, 3, 4, 2, 3, p=0.5, seed=0)
    bad_net = _WrongB1B(3, 4, 2, 3, p=0.5)
    bad_net.load_state_dict(good.net.state_dict())
    report = check_problem(Problem(bad_net, good.x, good.yA, good.yB, good.mask))
    assert not report.passed
    assert [c.name for c in report.checks if not c.passed] == ["b1B"]
