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

The bias: $\partial L / \partial b_{2B} = \frac{1}{m}\sum_i (\hat{y}_B^{(i)} - y_B^{(i)})$.
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


@pytest.mark.parametrize(("text", "at_least"), [(ROW_VECTORS, 4), (SHORTHAND, 5), (REFERENCE, 8)])
def test_a_correct_report_is_never_judged_wrong(text, at_least):
    check = check_report(text)
    statuses = [r.verdict.status for r in check.rows if r.verdict is not None]
    assert set(statuses) == {"ok"} and len(statuses) >= at_least, str(check)


MLP = r"""
# The MLP

Forward: $z_1 = W_1 x + b_1$, $h_1 = \max(z_1, 0)$, $z_2 = W_2 h_1 + b_2$,
$\hat{y} = \text{softmax}(z_2)$, loss averaged over the batch.

$$\frac{\partial L}{\partial z_2^i} = \frac{1}{m}(\hat{y}^i - y^i) \tag{1}$$

$$\frac{\partial L}{\partial W_2}
= \sum_{i=1}^m \frac{\partial L}{\partial z_2^i} (h_1^i)^T \tag{2}$$

$$\frac{\partial L}{\partial z_1^i} = W_2^T \frac{\partial L}{\partial z_2^i} \tag{3}$$

$$\frac{\partial L}{\partial b_1} = \sum_{i=1}^m \frac{\partial L}{\partial z_1^i} \tag{4}$$
"""


def test_an_mlp_report_is_read_and_its_mistake_named():
    rows = {r.reading.where: r for r in check_report(MLP).rows}
    assert {k: r.verdict.status for k, r in rows.items()} == {
        "eq. (1)": "ok",
        "eq. (2)": "ok",
        "eq. (3)": "wrong",
        "eq. (4)": "wrong",
    }
    assert rows["eq. (3)"].verdict.mistake == "no_relu_grad"
    assert rows["eq. (4)"].verdict.inherits == "z1"


VAE = r"""
# The VAE with a Gaussian decoder

$$\frac{\partial L}{\partial \hat{x}_{\mu}^i}
= \frac{1}{m}(\hat{x}_{\mu}^i - x^i) \odot \exp(-\hat{x}_v^i) \tag{1}$$

$$\frac{\partial L}{\partial \hat{x}_v^i}
= \frac{1}{2m}\left(1 - (x^i - \hat{x}_{\mu}^i)^2 \odot \exp(-\hat{x}_v^i)\right) \tag{2}$$

$$\frac{\partial L}{\partial z^i}
= W_d^T \frac{\partial L}{\partial \hat{x}_{\mu}^i} +
W_s^T \frac{\partial L}{\partial \hat{x}_v^i} \tag{3}$$

$$\frac{\partial L}{\partial \mu^i} = \frac{\partial L}{\partial z^i} \tag{4}$$

$$\frac{\partial L}{\partial \sigma^i}
= \frac{\partial L}{\partial z^i} \odot \epsilon^i \tag{5}$$

$$\frac{\partial L}{\partial \log\sigma_i^2}
= \frac{1}{2}\frac{\partial L}{\partial \sigma^i} \odot \sigma^i +
\frac{1}{2m}\left((\sigma^i)^2 - 1\right) \tag{6}$$

$$\frac{\partial L}{\partial W_{\mu}}
= \sum_{i=1}^m \frac{\partial L}{\partial \mu^i} (x^i)^T \tag{7}$$
"""


def test_a_vae_report_reads_log_sigma_squared_and_names_the_missing_kl_term():
    rows = {r.reading.where: r for r in check_report(VAE).rows}
    assert rows["eq. (6)"].reading.quantity == "logvar"
    wrong = {k: r.verdict for k, r in rows.items() if r.verdict.status == "wrong"}
    assert set(wrong) == {"eq. (4)", "eq. (7)"}
    assert wrong["eq. (4)"].mistake == "no_kl_term" and wrong["eq. (7)"].inherits == "mu"
