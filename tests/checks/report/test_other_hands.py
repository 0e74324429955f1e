"""Correct derivations in other notations are judged right or said unreadable, never wrong.

A wrong reading must never become a verdict about the learner: each report below is
correct, so every equation the reader reads must be ``ok``.
"""

from __future__ import annotations

import pytest

from handgrad.checks.formulas import REFERENCE_FORMULAS
from handgrad.checks.report import check_report

ROW_VECTORS = r"""
# Multi-task network, task B (row vectors: each sample is a row)

$$\frac{\partial L}{\partial z_{2B}^{(i)}}
= \frac{1}{m}\left(\hat{y}_B^{(i)} - y_B^{(i)}\right) \tag{1}$$

$$\frac{\partial L}{\partial \theta_{2B}} = \frac{1}{m}\sum_{i=1}^m
\left(\hat{y}_B^{(i)} - y_B^{(i)}\right)^\top x_{\oplus}^{(i)} \tag{2}$$

$$\frac{\partial L}{\partial x_{\oplus}^{(i)}} = \frac{1}{m}\left(\hat{y}_B^{(i)} - y_B^{(i)}\right)
\theta_{2B} \tag{3}$$
"""

SHORTHAND = r"""
# Block Two

Let $g^i = \frac{\partial L}{\partial x_{BN}^i}$ and
$\delta^i = \frac{1}{m}(\hat{y}_B^i - y_B^i)$.

$$\frac{\partial L}{\partial x_{BN}^i}
= \theta_{2B}^T \delta^i \odot \mathbb{1}[x_{BN}^i > 0] \tag{1}$$

$$\frac{\partial L}{\partial x_{1B}^i} = g^i - \frac{1}{m}\sum_{j=1}^m g^j \tag{2}$$

$$\nabla_{\theta_{1B}} L = \sum_{i=1}^m \frac{\partial L}{\partial x_{1B}^i} (x^i)^T \tag{3}$$

$$\frac{\partial L}{\partial \hat{y}_A^i}
= \frac{1}{m}(\hat{y}_A^i - y_A^i) + \theta_{2B}^T \delta^i \tag{4}$$

$$\frac{\partial L}{\partial z_{1A}^i}
= \theta_{2A}^T \frac{\partial L}{\partial \hat{y}_A^i} \odot M^i \odot \cos(z_{1A}^i) \tag{5}$$
"""

REFERENCE = "# Block Two\n\n" + "\n\n".join(
    f"$${tex} \\tag{{{k}}}$$" for k, tex in enumerate(REFERENCE_FORMULAS.values(), 1)
)


@pytest.mark.parametrize(("text", "at_least"), [(ROW_VECTORS, 3), (SHORTHAND, 5), (REFERENCE, 8)])
def test_a_correct_report_is_never_judged_wrong(text, at_least):
    check = check_report(text)
    statuses = [r.verdict.status for r in check.rows if r.verdict is not None]
    assert set(statuses) == {"ok"} and len(statuses) >= at_least, str(check)
