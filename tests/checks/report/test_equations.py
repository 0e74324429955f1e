"""Equality chains out of math spans, and equations assembled from prose."""

from __future__ import annotations

from handgrad.checks.report import check_report

from .reports import HEAD


def test_prose_joins_a_gradient_and_a_value_only_when_it_says_so():
    text = (
        r"$$\frac{\partial L}{\partial z_{2B}^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i) \tag{1}$$"
        "\n\n"
        r"We compute $\frac{\partial L}{\partial b_{2B}}$ using $\hat{y}_B^i - y_B^i$."
        "\n\n"
        r"And $\frac{\partial L}{\partial b_{2B}}$ is $\sum_{i=1}^m \hat{y}_B^i - y_B^i$."
    )
    rows = check_report(HEAD + text).rows
    assert [(r.reading.where, r.reading.quantity) for r in rows] == [
        ("eq. (1)", "z2B"),
        ("line 7", "b2B"),
    ]
