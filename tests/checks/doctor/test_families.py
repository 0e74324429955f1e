"""Whole-result families: a factor in closed form, a neighbour's gradient (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

import handgrad


def _verdict(problem, name, f):
    return handgrad.check_formulas({name: f}, problem=problem)[name]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_rational_factor_is_read_at_the_results_precision(dtype):
    v = _verdict("mlp", "z2", lambda q: (1.5 * (q.yhat - q.y) / q.m).astype(dtype))
    assert v.mistake == "factor:3/2" and "times 3/2" in v.explanation


def test_a_constant_with_no_closed_form_is_said_as_a_number():
    v = _verdict("mlp", "b2", lambda q: 0.123456 * (q.yhat - q.y).sum(axis=0) / q.m)
    assert v.mistake == "factor:constant" and "0.123456" in v.explanation


def test_a_factor_that_changes_with_m_is_said_so():
    v = _verdict("mlp", "W2", lambda q: (q.m - 1) * ((q.yhat - q.y) / q.m).T @ q.h1)
    assert v.mistake == "factor:m-1" and "changes with the batch size m" in v.explanation


def test_a_factor_not_the_same_on_every_batch_is_not_named():
    v = _verdict("mlp", "z2", lambda q: (1.5 + 0.1 * (q.m == 8)) * (q.yhat - q.y) / q.m)
    assert v.mistake is None


def test_a_per_feature_factor_names_the_forward_value():
    v = _verdict("batchnorm", "xhat", lambda q: q.dy * q.gamma * q.sigma**2)
    assert v.mistake == "factor:sigma^2" and "σ_B² (per feature)" in v.explanation


def test_a_neighbours_gradient_is_named_by_the_quantity_it_is():
    v = _verdict("mlp", "h1", lambda q: (q.yhat - q.y) @ q.W2 / q.m * (q.z1 > 0))
    assert v.mistake == "grad_z1_for_h1" and "this is ∂L/∂z1" in v.explanation
