"""The multi-task reference derivation in closed form (used by reproduce) and its mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from handgrad.checks.formulas import (
    MISTAKES,
    REFERENCE_FORMULAS,
    derived_gradients,
    quantities,
    true_gradients,
)
from handgrad.checks.network import sample_problem
from handgrad.models.multitask import PARAM_NAMES


@pytest.mark.parametrize("m", [1, 2, 6])
def test_reference_derivation_equals_the_network_backward(m):
    problem = sample_problem(m, 5, 4, 3, 6, p=0.5, seed=m)
    q = quantities(problem)
    truth = true_gradients(problem)
    derived = derived_gradients(q)
    for name in PARAM_NAMES:
        np.testing.assert_allclose(derived[name], truth[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_each_catalogued_mistake_changes_exactly_the_parameters_it_names(key):
    problem = sample_problem(6, 5, 4, 3, 6, p=0.5, seed=11)
    q = quantities(problem)
    right, wrong = derived_gradients(q), derived_gradients(q, frozenset({key}))
    changed = {n for n in PARAM_NAMES if not np.allclose(right[n], wrong[n], rtol=1e-9, atol=0)}
    assert changed == set(MISTAKES[key].affects)


def test_quantities_are_read_only_and_complete():
    q = quantities(sample_problem(3, 5, 4, 3, 6, p=0.5, seed=0))
    for name in ("x", "z1A", "x1A", "M", "xDP", "x2A", "yhatA", "x1B", "xBN", "xBNs", "xplus"):
        assert isinstance(getattr(q, name), np.ndarray)
    assert q.m == 3 and q.p == 0.5 and q.theta2B.shape == (6, 3)
    with pytest.raises(ValueError):
        q.x[0, 0] = 1.0


def test_reference_formulas_are_latex_for_every_parameter():
    assert set(REFERENCE_FORMULAS) == set(PARAM_NAMES)
    assert all(s.startswith(r"\frac{\partial L}") for s in REFERENCE_FORMULAS.values())
