"""Evaluating on one batch: sample indices, sums, both vector conventions, every grouping."""

from __future__ import annotations

import types

import numpy as np
import pytest

from handgrad.checks.report.evaluate import Binding, Evaluator, Symbols, evaluate_all
from handgrad.checks.report.latex import Unreadable, parse

RNG = np.random.default_rng(0)
Q = types.SimpleNamespace(
    m=3,
    v=RNG.standard_normal((3, 4)),
    x=RNG.standard_normal((3, 5)),
    W=RNG.standard_normal((4, 5)),
    b=RNG.standard_normal(4),
    c=RNG.standard_normal(4),
    A=RNG.standard_normal((4, 4)),
)
SYMBOLS = Symbols(
    {k: Binding(k, quantity=k) for k in ("v", "x", "W", "b", "c", "A", "m")},
    per_row=frozenset({"v", "x"}),
)


def _value(tex, sample=None, index="i"):
    (node,) = parse(tex)

    def make(convention):
        bound = {index: sample} if sample is not None else {}
        return Evaluator(Q, SYMBOLS, convention, "step", bound, sample)

    return evaluate_all(make, node)


def test_a_batch_sum_of_outer_products_is_the_matrix_product():
    got = _value(r"\frac{1}{m} \sum_{i=1}^m v^i (x^i)^T")
    assert np.allclose(got, Q.v.T @ Q.x / 3)


def test_column_and_row_vectors_read_the_same_formula():
    col = _value(r"W x^i + b", sample=1)
    row = _value(r"x^i W^T + b", sample=1)
    assert np.allclose(np.ravel(col), Q.W @ Q.x[1] + Q.b)
    assert np.allclose(np.ravel(row), np.ravel(col))


def test_the_one_grouping_whose_shapes_fit_is_taken():
    got = _value(r"W^T v^i \odot \cos(x^i)", sample=2)  # (W^T v) ⊙ cos x: the only fit
    assert np.allclose(np.ravel(got), (Q.W.T @ Q.v[2]) * np.cos(Q.x[2]))


def test_two_groupings_that_fit_and_differ_are_not_read():
    with pytest.raises(Unreadable, match="different groupings"):
        _value(r"A b \odot c")  # (A b) ⊙ c or A (b ⊙ c)


def test_a_number_times_a_vector_is_one_reading():
    got = _value(r"b^T c \cdot c \odot b")  # (bᵀc) c ⊙ b, however grouped
    assert np.allclose(np.ravel(got), (Q.b @ Q.c) * Q.c * Q.b)


def test_an_undefined_symbol_is_named():
    with pytest.raises(Unreadable, match=r"`\\Xi` is not defined; add it to the notation file"):
        _value(r"\Xi + b")


def test_a_sample_quantity_outside_any_sum_is_not_guessed():
    with pytest.raises(Unreadable, match="one sample's"):
        _value(r"W x + b")


def test_shapes_that_fit_in_no_grouping_are_not_read():
    with pytest.raises(Unreadable, match="do not fit"):
        _value(r"W b", sample=0)
