"""A corpus of realistic learner mistakes, each with the mistake id the doctor must give.

Each `Case` is one wrong formula a learner could write, built on the correct formulas of
``examples/formulas_<problem>.py`` (imported as ``ex[problem]``) so that it reads as
the learner's code would: the right derivation with one slip (or two).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handgrad.checks.doctor.load import run_file

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _example(problem: str):
    class NS:
        pass

    ns = NS()
    for k, v in run_file(EXAMPLES / f"formulas_{problem}.py").items():
        setattr(ns, k, v)
    return ns


mt = _example("multitask")
bn = _example("batchnorm")
mlp = _example("mlp")
vg = _example("vae_gauss")
vb = _example("vae_bernoulli")


@dataclass(frozen=True)
class Case:
    problem: str
    quantity: str
    expected: str
    formula: Callable
    what: str


def relu_literal(x):
    """Report 000's sgn taken literally: (x + |x|)/2, which is ReLU itself."""
    return (x + np.abs(x)) / 2


def _mt_dz1A(q, mask=None, dsin=None, dyhatA=None):
    dy = mt.grad_yhatA(q) if dyhatA is None else dyhatA
    return (
        (dy @ q.theta2A)
        * (q.M if mask is None else mask)
        * (np.cos(q.z1A) if dsin is None else dsin)
    )


def _mt_relu_lit_g(q):
    return mt.grad_xplus(q) * relu_literal(q.xBN)


def _task_a_only(q):
    return (q.yhatA - q.yA) / q.m


CASES = [
    # --- multitask -------------------------------------------------------------------------
    Case(
        "multitask",
        "theta1B",
        "bn_factor",
        lambda q: (1 - 1 / q.m) * mt.grad_xBN(q).T @ q.x,
        "report 003 eq. (6), sgn as step",
    ),
    Case(
        "multitask",
        "x1B",
        "bn_factor",
        lambda q: (1 - 1 / q.m) * mt.grad_xBN(q),
        "report 003 eq. (5), sgn as step",
    ),
    Case(
        "multitask",
        "theta1B",
        "bn_uncoupled",
        lambda q: mt.grad_xBN(q).T @ q.x,
        "batch mean of BN* ignored",
    ),
    Case("multitask", "x1B", "bn_uncoupled", lambda q: mt.grad_xBN(q), "∂L/∂x1B = ∂L/∂xBN"),
    Case(
        "multitask",
        "b1B",
        "relu_as_step",
        lambda q: _mt_relu_lit_g(q).sum(axis=0),
        "sgn read literally in b1B",
    ),
    Case(
        "multitask",
        "xBN",
        "relu_as_step",
        lambda q: _mt_relu_lit_g(q),
        "sgn read literally in ∂L/∂xBN",
    ),
    Case(
        "multitask",
        "theta1B",
        "bn_factor+relu_as_step",
        lambda q: (1 - 1 / q.m) * _mt_relu_lit_g(q).T @ q.x,
        "report 003 eq. (6) as written",
    ),
    Case("multitask", "xBN", "no_relu_grad", lambda q: mt.grad_xplus(q), "ReLU′ forgotten"),
    Case("multitask", "yhatA", "no_task_b_term", _task_a_only, "task-B term of ∂L/∂ŷA"),
    Case(
        "multitask",
        "theta2A",
        "no_task_b_term",
        lambda q: _task_a_only(q).T @ q.xDP,
        "task-B term missing in θ2A",
    ),
    Case("multitask", "yhatA", "no_task_a_term", lambda q: mt.grad_xplus(q), "task-A term"),
    Case("multitask", "z1A", "no_mask", lambda q: _mt_dz1A(q, mask=1.0), "dropout mask forgotten"),
    Case("multitask", "x1A", "no_mask", lambda q: mt.grad_xDP(q), "∂L/∂x1A = ∂L/∂xDP"),
    Case(
        "multitask",
        "z1A",
        "unscaled_mask",
        lambda q: _mt_dz1A(q, mask=(q.r >= q.p) * 1.0),
        "mask without 1/(1 − p)",
    ),
    Case("multitask", "z1A", "no_cos", lambda q: _mt_dz1A(q, dsin=1.0), "sin′ forgotten"),
    Case(
        "multitask",
        "b1A",
        "sin_for_cos",
        lambda q: _mt_dz1A(q, dsin=np.sin(q.z1A)).sum(axis=0),
        "sin′ written as sin",
    ),
    Case(
        "multitask",
        "z1A",
        "x1A_for_z1A",
        lambda q: _mt_dz1A(q, dsin=np.cos(q.x1A)),
        "cos of x1A instead of z1A",
    ),
    Case(
        "multitask",
        "theta1A",
        "no_cos+no_task_b_term",
        lambda q: _mt_dz1A(q, dsin=1.0, dyhatA=_task_a_only(q)).T @ q.x,
        "two slips",
    ),
    Case(
        "multitask",
        "theta2B",
        "xBNs_for_xplus",
        lambda q: mt.grad_z2B(q).T @ q.xBNs,
        "xBN* used for x⊕",
    ),
    Case(
        "multitask",
        "theta2A",
        "x1A_for_xDP",
        lambda q: mt.grad_yhatA(q).T @ q.x1A,
        "x1A used for xDP (before the dropout)",
    ),
    Case("multitask", "z2B", "sign", lambda q: (q.yB - q.yhatB) / q.m, "(y − ŷ)"),
    Case(
        "multitask", "b2B", "no_1_over_m", lambda q: (q.yhatB - q.yB).sum(axis=0), "1/m forgotten"
    ),
    Case(
        "multitask",
        "theta2B",
        "extra_1_over_m",
        lambda q: mt.grad_z2B(q).T @ q.xplus / q.m,
        "1/m twice",
    ),
    Case(
        "multitask",
        "z2B",
        "softmax_diag_only",
        lambda q: -q.yB * (1 - q.yhatB) / q.m,
        "only the diagonal of the softmax Jacobian",
    ),
    Case(
        "multitask",
        "b1B",
        "zero",
        lambda q: (mt.grad_xBN(q) - mt.grad_xBN(q).mean(axis=0)).sum(axis=0),
        "batch-mean subtraction applied to the bias",
    ),
    Case(
        "multitask",
        "theta1B",
        "transpose",
        lambda q: q.x.T @ mt.grad_x1B(q),
        "xᵀ g instead of gᵀ x",
    ),
    Case(
        "multitask",
        "xBN",
        "extra_term:xBNs.yhatA",
        lambda q: (mt.grad_xplus(q) + (q.yhatA - q.yA) / q.m) * mt.step(q.xBN),
        "the task-A term added to ∂L/∂xBN* too",
    ),
    # --- Block One -------------------------------------------------------------------------
    Case(
        "batchnorm",
        "x",
        "bn_uncoupled",
        lambda q: q.dy * q.gamma / q.sigma,
        "μ_B and σ_B² taken as constants",
    ),
    Case(
        "batchnorm",
        "x",
        "bn_no_var_term",
        lambda q: (bn.grad_xhat(q) - bn.grad_xhat(q).mean(axis=0)) / q.sigma,
        "no σ² path",
    ),
    Case(
        "batchnorm",
        "x",
        "bn_no_mean_term",
        lambda q: (bn.grad_xhat(q) - q.xhat * (bn.grad_xhat(q) * q.xhat).mean(axis=0)) / q.sigma,
        "no μ path",
    ),
    Case(
        "batchnorm",
        "x",
        "bn_factor",
        lambda q: bn.grad_xhat(q) * (1 - 1 / q.m - q.xhat**2 / q.m) / q.sigma,
        "each row's own term only",
    ),
    Case("batchnorm", "gamma", "x_for_xhat", lambda q: (q.dy * q.x).sum(axis=0), "x instead of x̂"),
    Case("batchnorm", "beta", "extra_1_over_m", lambda q: q.dy.mean(axis=0), "mean for sum"),
    Case("batchnorm", "xhat", "sign", lambda q: -q.dy * q.gamma, "sign"),
    Case("dropout", "x", "no_mask", lambda q: q.dy, "mask forgotten"),
    Case("dropout", "x", "unscaled_mask", lambda q: q.dy * (q.r >= q.p), "mask 0/1"),
    Case(
        "softmax",
        "J",
        "softmax_diag_only",
        lambda q: np.einsum("bi,ik->bik", q.y * (1 - q.y), np.eye(q.y.shape[1])),
        "off-diagonal −y_i y_k dropped",
    ),
    Case("softmax", "z", "softmax_diag_only", lambda q: q.dy * q.y * (1 - q.y), "diag only"),
    Case(
        "softmax",
        "z",
        "sign",
        lambda q: q.y * ((q.dy * q.y).sum(axis=1, keepdims=True) - q.dy),
        "sign",
    ),
    Case("softmax_ce", "z", "sign", lambda q: (q.y - q.p) / q.m, "(y − p)"),
    Case("softmax_ce", "z", "no_1_over_m", lambda q: q.p - q.y, "1/m forgotten"),
    Case(
        "softmax_ce",
        "z",
        "softmax_diag_only",
        lambda q: -q.y * (1 - q.p) / q.m,
        "∂L/∂p times p(1 − p) only",
    ),
    Case("softmax_ce", "p", "no_1_over_m", lambda q: -q.y / q.p, "1/m forgotten in ∂L/∂p"),
    # --- MLP -------------------------------------------------------------------------------
    Case("mlp", "z1", "relu_as_step", lambda q: mlp.grad_h1(q) * q.h1, "ReLU′ written as ReLU"),
    Case("mlp", "z1", "no_relu_grad", lambda q: mlp.grad_h1(q), "ReLU′ forgotten"),
    Case("mlp", "W2", "z1_for_h1", lambda q: mlp.grad_z2(q).T @ q.z1, "z1 used for h1"),
    Case("mlp", "W1", "no_relu_grad", lambda q: mlp.grad_h1(q).T @ q.x, "ReLU′ forgotten in W1"),
    Case(
        "mlp", "b2", "extra_1_over_m", lambda q: mlp.grad_z2(q).mean(axis=0), "mean instead of sum"
    ),
    Case("mlp", "W2", "transpose", lambda q: q.h1.T @ mlp.grad_z2(q), "h1ᵀ dz2"),
    Case("mlp", "h1", "sign", lambda q: (q.y - q.yhat) @ q.W2 / q.m, "sign"),
    # --- VAE -------------------------------------------------------------------------------
    Case("vae_gauss", "mu", "no_kl_term", lambda q: vg.grad_z(q), "KL term of ∂L/∂μ"),
    Case("vae_gauss", "mu", "no_reconstruction_term", lambda q: q.mu / q.m, "only the KL term"),
    Case(
        "vae_gauss",
        "logvar",
        "reparam_no_half",
        lambda q: vg.grad_sigma(q) * q.sigma + 0.5 * (np.exp(q.logvar) - 1) / q.m,
        "∂σ/∂log σ² = σ",
    ),
    Case(
        "vae_gauss",
        "logvar",
        "no_kl_term",
        lambda q: vg.grad_sigma(q) * 0.5 * q.sigma,
        "KL term of ∂L/∂log σ²",
    ),
    Case(
        "vae_gauss",
        "logvar",
        "kl_no_half",
        lambda q: vg.grad_sigma(q) * 0.5 * q.sigma + (np.exp(q.logvar) - 1) / q.m,
        "KL's ½ dropped",
    ),
    Case(
        "vae_gauss",
        "logvar",
        "kl_exp_not_differentiated",
        lambda q: vg.grad_sigma(q) * 0.5 * q.sigma - 0.5 / q.m,
        "e^{log σ²} as a constant",
    ),
    Case("vae_gauss", "sigma", "reparam_no_eps", lambda q: vg.grad_z(q), "ε forgotten"),
    Case("vae_gauss", "xmu", "nll_no_variance", lambda q: (q.xmu - q.x) / q.m, "1/σ² dropped"),
    Case(
        "vae_gauss",
        "xlogvar",
        "nll_logvar_no_half",
        lambda q: (1 - (q.x - q.xmu) ** 2 * np.exp(-q.xlogvar)) / q.m,
        "NLL's ½ dropped",
    ),
    Case(
        "vae_bernoulli",
        "logits",
        "bce_grad_wrt_p",
        lambda q: (
            (vb.sigmoid(q.logits) - q.x) / (vb.sigmoid(q.logits) * (1 - vb.sigmoid(q.logits))) / q.m
        ),
        "∂/∂p for ∂/∂logits",
    ),
    Case("vae_bernoulli", "logits", "sign", lambda q: (q.x - vb.sigmoid(q.logits)) / q.m, "sign"),
    Case(
        "vae_bernoulli",
        "Wd",
        "no_1_over_m",
        lambda q: (vb.sigmoid(q.logits) - q.x).T @ q.z,
        "1/m forgotten",
    ),
]

# --- issue 22: the new families, written as a learner would ------------------------------


def _bn_x(q, mean_c=1.0, var_c=1.0, sigma=None, xhat=None):
    """∂L/∂x of batch norm with the two coupling terms' coefficients and σ_B, x̂ as given."""
    g = bn.grad_xhat(q)
    xh = q.xhat if xhat is None else xhat
    s = q.sigma if sigma is None else sigma
    return (g - mean_c * g.mean(axis=0) - var_c * xh * (g * xh).mean(axis=0)) / s


def _no_eps_x(q):
    s = np.sqrt(q.var)
    return _bn_x(q, sigma=s, xhat=(q.x - q.mu) / s)


def _mt_x1B(q, c):
    g = mt.grad_xBN(q)
    return g - c * g.mean(axis=0)


def _dropout_z1A(q, mask):
    return mt.grad_xDP(q) * mask * np.cos(q.z1A)


FAMILY_CASES = [
    # dropout scale written with p, 1/p or (1 − p), applied twice, inverted
    Case("dropout", "x", "mask_scale_p", lambda q: q.dy * (q.r >= q.p) * q.p, "M = 1[r ≥ p]·p"),
    Case("dropout", "x", "mask_scale_1_over_p", lambda q: q.dy * (q.r >= q.p) / q.p, "1/p"),
    Case("dropout", "x", "mask_scale_1_minus_p", lambda q: q.dy * (q.r >= q.p) * (1 - q.p), "1−p"),
    Case("dropout", "x", "mask_twice", lambda q: q.dy * q.M / (1 - q.p), "the scale twice"),
    Case("dropout", "x", "mask_inverted", lambda q: q.dy * (q.r < q.p) / (1 - q.p), "r < p kept"),
    Case(
        "multitask",
        "z1A",
        "mask_scale_1_over_p",
        lambda q: _dropout_z1A(q, (q.r >= q.p) / q.p),
        "inverted dropout scaled by 1/p",
    ),
    Case(
        "multitask",
        "x1A",
        "mask_twice",
        lambda q: mt.grad_xDP(q) * q.M * q.M,
        "M applied in ∂L/∂xDP and again",
    ),
    Case("dropout", "x", "mask_scale_only", lambda q: q.dy / (1 - q.p), "only 1/(1 − p)"),
    Case(
        "softmax",
        "J",
        "softmax_no_diag",
        lambda q: -q.y[:, :, None] * q.y[:, None, :],
        "diag(y) forgotten",
    ),
    Case(
        "softmax",
        "z",
        "softmax_sum_without_y",
        lambda q: q.y * (q.dy - q.dy.sum(axis=1, keepdims=True)),
        "Σ dy for Σ dy y",
    ),
    Case(
        "softmax_ce",
        "z",
        "softmax_no_diag",
        lambda q: q.p / q.m,
        "∂L/∂p through the off-diagonal only: p/m",
    ),
    Case("multitask", "x1B", "bn_sum_for_mean", lambda q: _mt_x1B(q, q.m), "g − Σ g"),
    Case(
        "multitask",
        "theta1B",
        "bn_mean_over_axis_1",
        lambda q: (mt.grad_xBN(q) - mt.grad_xBN(q).mean(axis=1, keepdims=True)).T @ q.x,
        "mean over the features",
    ),
    Case(
        "softmax",
        "z",
        "softmax_sum_over_axis_0",
        lambda q: q.y * (q.dy - (q.dy * q.y).sum(axis=0, keepdims=True)),
        "Σ over the batch",
    ),
    Case(
        "batchnorm",
        "x",
        "bn_mean_over_axis_1",
        lambda q: (
            (
                bn.grad_xhat(q)
                - bn.grad_xhat(q).mean(axis=1, keepdims=True)
                - q.xhat * (bn.grad_xhat(q) * q.xhat).mean(axis=1, keepdims=True)
            )
            / q.sigma
        ),
        "axis=1 in both means",
    ),
    # batch norm: a coupling term with its sign flipped or twice, σ² for σ, ε dropped
    Case("batchnorm", "x", "bn_mean_term_sign", lambda q: _bn_x(q, mean_c=-1.0), "+ mean g"),
    Case("batchnorm", "x", "bn_var_term_sign", lambda q: _bn_x(q, var_c=-1.0), "+ x̂ mean(g x̂)"),
    Case("batchnorm", "x", "bn_mean_term_twice", lambda q: _bn_x(q, mean_c=2.0), "2 mean g"),
    Case("batchnorm", "x", "bn_var_term_twice", lambda q: _bn_x(q, var_c=2.0), "var term twice"),
    Case(
        "batchnorm",
        "x",
        "bn_var_for_sigma",
        lambda q: _bn_x(q, sigma=q.var + q.eps),
        "divided by σ² + ε",
    ),
    Case("batchnorm", "x", "bn_no_eps", _no_eps_x, "ε left out of σ and x̂"),
    Case(
        "batchnorm",
        "xhat",
        "no_1_over_m",
        lambda q: q.dy * q.gamma * q.m,
        "× m",
    ),
    Case(
        "multitask",
        "yhatA",
        "term_no_1_over_m:yhatA.LA",
        lambda q: (q.yhatA - q.yA) + mt.grad_xplus(q),
        "1/m lost on the task-A term",
    ),
    Case(
        "multitask",
        "theta2A",
        "term_no_1_over_m:yhatA.xplus",
        lambda q: ((q.yhatA - q.yA) / q.m + (q.yhatB - q.yB) @ q.theta2B).T @ q.xDP,
        "1/m lost on the task-B term",
    ),
    Case(
        "vae_gauss",
        "mu",
        "term_no_1_over_m:mu.KL",
        lambda q: vg.grad_z(q) + q.mu,
        "KL term without 1/m",
    ),
    Case(
        "vae_bernoulli",
        "logvar",
        "term_extra_1_over_m:logvar.KL",
        lambda q: vb.grad_sigma(q) * 0.5 * q.sigma + 0.5 * (np.exp(q.logvar) - 1) / q.m**2,
        "KL term divided by m twice",
    ),
    Case("multitask", "x1B", "bn_mean_term_sign", lambda q: _mt_x1B(q, -1.0), "g + mean g in BN*"),
    Case("multitask", "x1B", "bn_mean_term_twice", lambda q: _mt_x1B(q, 2.0), "g − 2 mean g"),
    Case(
        "multitask",
        "theta1B",
        "bn_mean_term_sign",
        lambda q: _mt_x1B(q, -1.0).T @ q.x,
        "BN* mean with + in θ1B",
    ),
    Case(
        "batchnorm",
        "x",
        "bn_var_term_sum",
        lambda q: _bn_x(q, var_c=q.m),
        "Σ_j g_j x̂_j where the mean belongs",
    ),
    Case(
        "vae_bernoulli",
        "logits",
        "factor:p(1-p)",
        lambda q: (q.p - q.x) * q.p * (1 - q.p) / q.m,
        "σ′ multiplied in on top of σ(l) − x",
    ),
    # the VAE: σ where σ² belongs and back
    Case(
        "vae_gauss",
        "logvar",
        "reparam_variance_for_sigma",
        lambda q: vg.grad_sigma(q) * 0.5 * q.sigma**2 + 0.5 * (np.exp(q.logvar) - 1) / q.m,
        "∂σ/∂log σ² = ½σ²",
    ),
    Case(
        "vae_gauss",
        "logvar",
        "kl_sigma_for_variance",
        lambda q: vg.grad_sigma(q) * 0.5 * q.sigma + 0.5 * (q.sigma - 1) / q.m,
        "KL: ½(σ − 1)",
    ),
    Case(
        "vae_gauss",
        "xmu",
        "nll_sigma_for_variance",
        lambda q: (q.xmu - q.x) * np.exp(-0.5 * q.xlogvar) / q.m,
        "(μ − x)/σ",
    ),
    Case(
        "vae_gauss",
        "xlogvar",
        "nll_sigma_for_variance",
        lambda q: 0.5 * (1 - (q.x - q.xmu) ** 2 / np.exp(0.5 * q.xlogvar)) / q.m,
        "(x − μ)²/σ",
    ),
    Case(
        "vae_bernoulli",
        "bv",
        "kl_sigma_for_variance",
        lambda q: (vb.grad_sigma(q) * 0.5 * q.sigma + 0.5 * (q.sigma - 1) / q.m).sum(axis=0),
        "KL: ½(σ − 1) in the bias",
    ),
    # one term of a multi-path gradient: sign flipped or counted twice
    Case(
        "multitask",
        "yhatA",
        "flipped_term:yhatA.xplus",
        lambda q: (q.yhatA - q.yA) / q.m - mt.grad_xplus(q),
        "task-B term subtracted",
    ),
    Case(
        "multitask",
        "yhatA",
        "double_term:yhatA.xplus",
        lambda q: (q.yhatA - q.yA) / q.m + 2 * mt.grad_xplus(q),
        "task-B term twice",
    ),
    Case(
        "multitask",
        "b2A",
        "flipped_term:yhatA.LA",
        lambda q: (mt.grad_xplus(q) - (q.yhatA - q.yA) / q.m).sum(axis=0),
        "task-A term subtracted",
    ),
    Case(
        "vae_gauss",
        "mu",
        "flipped_term:mu.KL",
        lambda q: vg.grad_z(q) - q.mu / q.m,
        "KL term with −",
    ),
    Case(
        "vae_gauss",
        "mu",
        "double_term:mu.KL",
        lambda q: vg.grad_z(q) + 2 * q.mu / q.m,
        "the KL term twice",
    ),
    Case(
        "vae_bernoulli",
        "mu",
        "double_term:mu.z",
        lambda q: 2 * vb.grad_z(q) + q.mu / q.m,
        "reconstruction term twice",
    ),
    Case(
        "vae_bernoulli",
        "Wmu",
        "flipped_term:mu.KL",
        lambda q: (vb.grad_z(q) - q.mu / q.m).T @ q.x,
        "KL term with − in Wμ",
    ),
    # the gradient of a neighbouring quantity given for the one asked
    Case("softmax_ce", "p", "grad_z_for_p", lambda q: (q.p - q.y) / q.m, "∂L/∂z for ∂L/∂ŷ"),
    Case("batchnorm", "xhat", "grad_y_for_xhat", lambda q: q.dy, "∂L/∂y for ∂L/∂x̂"),
    Case("mlp", "h1", "grad_z1_for_h1", lambda q: mlp.grad_h1(q) * (q.z1 > 0), "post for pre"),
    Case("vae_gauss", "z", "grad_mu_for_z", lambda q: vg.grad_mu(q), "∂L/∂μ for ∂L/∂z"),
    Case(
        "multitask",
        "xDP",
        "grad_x1A_for_xDP",
        lambda q: mt.grad_yhatA(q) @ q.theta2A * q.M,
        "∂L/∂x1A for ∂L/∂xDP",
    ),
    # the truth times a factor, said in closed form
    Case("batchnorm", "xhat", "factor:1/sigma", lambda q: q.dy * q.gamma / q.sigma, "÷σ twice"),
    Case("batchnorm", "beta", "factor:gamma", lambda q: (q.dy * q.gamma).sum(axis=0), "×γ"),
    Case(
        "softmax_ce",
        "z",
        "factor:(1-p)",
        lambda q: (q.p - q.y) * (1 - q.p) / q.m,
        "× (1 − p) entry by entry",
    ),
    Case("vae_gauss", "mu", "factor:sigma", lambda q: vg.grad_mu(q) * q.sigma, "× σ"),
    Case(
        "batchnorm",
        "x",
        "factor:1/var",
        lambda q: bn.grad_x(q) / q.var,
        "÷ σ_B² (without ε) once more",
    ),
    Case("mlp", "z2", "factor:3/2", lambda q: 1.5 * (q.yhat - q.y) / q.m, "× 3/2"),
    Case("mlp", "b1", "factor:(m-1)/m", lambda q: mlp.grad_z1(q).sum(axis=0) * (1 - 1 / q.m), "×"),
    Case("multitask", "b2B", "factor:1/m^2", lambda q: mt.grad_z2B(q).mean(axis=0) / q.m, "÷ m²"),
    Case(
        "multitask",
        "theta2A",
        "factor:-(m-1)/m",
        lambda q: (1 / q.m - 1) * mt.grad_theta2A(q),
        "× −(m − 1)/m",
    ),
    Case("vae_bernoulli", "bd", "factor:7/10", lambda q: vb.grad_bd(q) * 0.7, "× 0.7"),
]

CASES += FAMILY_CASES

# --- generated from the graphs: every quantity of every problem times a factor ----------
EXAMPLE_OF = {
    "multitask": mt,
    "batchnorm": bn,
    "mlp": mlp,
    "vae_gauss": vg,
    "vae_bernoulli": vb,
    "dropout": _example("dropout"),
    "softmax": _example("softmax"),
    "softmax_ce": _example("softmax_ce"),
}
# (factor id, f(m)); none of them is a catalogued slip or a pair of them
FACTORS = (
    ("factor:3/2", lambda m: 1.5),
    ("factor:-1/3", lambda m: -1 / 3),
    ("factor:(m-1)/m", lambda m: (m - 1) / m),
    ("factor:2/3", lambda m: 2 / 3),
    ("factor:m^2", lambda m: m * m),
    ("factor:5/4", lambda m: 1.25),
    ("factor:1/sqrt(m)", lambda m: m**-0.5),
)


def _scaled(example, quantity: str, f):
    grad = getattr(example, f"grad_{quantity}")
    return lambda q: f(q.m) * grad(q)


def generated_factor_cases(problems) -> list[Case]:
    """One factor per quantity (a learner's stray constant), cycling through `FACTORS`."""
    out, k = [], 0
    for name, problem in problems.items():
        for quantity in problem.quantities:
            mid, f = FACTORS[k % len(FACTORS)]
            k += 1
            out.append(Case(name, quantity, mid, _scaled(EXAMPLE_OF[name], quantity, f), mid))
    return out


# other spellings of a mistake already in the corpus: the same name, whichever is written
SPELLINGS = [
    Case("batchnorm", "x", "bn_var_for_sigma", lambda q: bn.grad_x(q) * q.sigma / q.var, "÷ σ²"),
    Case(
        "batchnorm",
        "x",
        "bn_no_eps",
        lambda q: _bn_x(q, sigma=np.sqrt(q.var)),
        "√σ² with x̂ as given",
    ),
    Case("dropout", "x", "mask_twice", lambda q: q.dy * q.M * q.M, "M ⊙ M"),
]
