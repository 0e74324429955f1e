"""The grammar: what it reads, and the reason when it does not."""

from __future__ import annotations

import pytest

from handgrad.checks.report.latex import (
    Func,
    Partial,
    Product,
    Scripted,
    Sum,
    Unreadable,
    parse,
)


def test_sizes_spacing_and_fonts_do_not_change_the_reading():
    a = parse(r"\left( \mathbf{x}_{2\text{B}} \right)^\top \odot \,\text{sgn}(h)")
    b = parse(r"(x_{2B})^T \odot \operatorname{sgn}(h)")
    assert a == b


def test_a_product_stays_flat_and_a_sum_takes_the_rest_of_it():
    (lhs, rhs) = parse(
        r"\frac{\partial L}{\partial \theta} = "
        r"\frac{1}{m} \sum_{i=1}^m \theta^T v^i \odot M (x^i)^T"
    )
    assert isinstance(lhs.num, Partial) and isinstance(lhs.den, Partial)
    assert isinstance(rhs, Product) and isinstance(rhs.factors[-1], Sum)
    body = rhs.factors[-1].body
    assert body.ops == ("", "odot", "")
    assert isinstance(body.factors[0], Scripted) and body.factors[0].sup == "T"


def test_functions_by_any_spelling():
    for tex in (r"\text{Softmax}(z)", r"\operatorname{softmax}(z)", r"\mathrm{softmax}(z)"):
        (node,) = parse(tex)
        assert isinstance(node, Func) and node.name == "softmax"


@pytest.mark.parametrize(
    ("tex", "reason"),
    [
        (r"\begin{bmatrix} a \\ b \end{bmatrix}", "bmatrix environment"),
        (r"a = b +", "outside the grammar"),
        (r"f'(x)", "prime"),
    ],
)
def test_what_is_not_read_says_why(tex, reason):
    with pytest.raises(Unreadable, match=reason):
        parse(tex)
