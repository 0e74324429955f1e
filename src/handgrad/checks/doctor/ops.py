"""The operations a problem's forward graph is built from, each with its classic slips.

An `Op` is a forward function written with autograd's NumPy (so autograd can
differentiate it) and a tuple of `Variant`s: wrong versions of its local derivative that
learners really write (ReLU′ written as ReLU, sin′ as sin, a dropout mask without its
scale, the batch coupling of a normalisation dropped, …). A variant replaces the
vector-Jacobian product of one argument: ``vjp(g, args, out, m) -> wrong ∂L/∂arg`` where
``g`` = ∂L/∂out. Explanations and fixes are templates: ``{y}`` is the step's symbol,
``{x}`` the argument's.

Any step may also use a plain function (no variants): the catalogue then only applies
the slips it builds from the graph itself (see `mistakes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import autograd.numpy as anp
import numpy as np


@dataclass(frozen=True)
class Variant:
    """A wrong local derivative of one argument of an `Op` (see module doc)."""

    id: str
    arg: int
    vjp: Callable[[np.ndarray, list[np.ndarray], np.ndarray, int], np.ndarray]
    explanation: str
    fix: str
    factor: float | None = None  # a lost ½: this slip *is* a factor 2 on its term


@dataclass(frozen=True)
class Op:
    """A named forward function (autograd NumPy) and its catalogued wrong derivatives."""

    name: str
    fn: Callable[..., np.ndarray]
    variants: tuple[Variant, ...] = ()
    formula: str = ""  # the forward in words, e.g. "sin(z)"

    def __call__(self, *args):
        return self.fn(*args)


def _elementwise(
    name: str,
    fn: Callable,
    formula: str,
    deriv: str,
    as_fn_id: str,
    missing_id: str,
    extra: tuple[Variant, ...] = (),
) -> Op:
    """A unary elementwise op with its two generic slips: f′ written as f, f′ left out."""
    return Op(
        name,
        fn,
        (
            Variant(
                as_fn_id,
                0,
                lambda g, a, y, m: g * fn(a[0]),
                f"{name}′ written as {name} itself: ∂L/∂{{x}} used ∂L/∂{{y}} ⊙ {formula}",
                f"∂L/∂{{x}} = ∂L/∂{{y}} ⊙ {deriv}",
            ),
            Variant(
                missing_id,
                0,
                lambda g, a, y, m: g,
                f"{name}′ missing: ∂L/∂{{x}} was taken equal to ∂L/∂{{y}}",
                f"multiply by {name}′: ∂L/∂{{x}} = ∂L/∂{{y}} ⊙ {deriv}",
            ),
            *extra,
        ),
        formula,
    )


def _linear(x, W, b):
    return anp.dot(x, W.T) + b


def _sigmoid(z):
    return 1.0 / (1.0 + anp.exp(-z))


linear = Op("linear", _linear, formula="x Wᵀ + b")
matmul_t = Op("matmul_t", lambda x, W: anp.dot(x, W.T), formula="x Wᵀ")
add = Op("add", lambda a, b: a + b, formula="a + b")
times = Op("times", lambda a, b: a * b, formula="a ⊙ b")
upstream = Op("upstream", lambda y, dy: anp.sum(y * dy), formula="Σ y ⊙ dy (so that ∂L/∂y = dy)")

sin = _elementwise("sin", anp.sin, "sin({x})", "cos({x})", "sin_for_cos", "no_cos")
relu = _elementwise(
    "ReLU",
    lambda x: anp.maximum(x, 0.0),
    "max({x}, 0) = ({x} + |{x}|)/2",
    "1[{x} > 0]",
    "relu_as_step",
    "no_relu_grad",
)
tanh = _elementwise(
    "tanh",
    anp.tanh,
    "tanh({x})",
    "(1 − {y}²)",
    "tanh_as_grad",
    "no_tanh_grad",
    (
        Variant(
            "tanh_grad_from_z",
            0,
            lambda g, a, y, m: g * (1 - a[0] ** 2),
            "tanh′ computed from the pre-activation: 1 − {x}² instead of 1 − {y}²",
            "tanh′({x}) = 1 − {y}² with {y} = tanh({x})",
        ),
    ),
)
sigmoid = _elementwise(
    "σ",
    _sigmoid,
    "σ({x})",
    "{y}(1 − {y})",
    "sigmoid_as_grad",
    "no_sigmoid_grad",
    (
        Variant(
            "sigmoid_grad_from_z",
            0,
            lambda g, a, y, m: g * a[0] * (1 - a[0]),
            "σ′ computed from the pre-activation: {x}(1 − {x}) instead of {y}(1 − {y})",
            "σ′({x}) = {y}(1 − {y}) with {y} = σ({x})",
        ),
    ),
)

ACTIVATIONS = (sin, relu, tanh, sigmoid)


def recognise(fn: Callable) -> Op | None:
    """The catalogued activation a one-argument function computes, judged by its values
    on a fixed probe (so ``lambda z: np.tanh(z)`` gets tanh's slips), or None."""
    probe = np.linspace(-3.0, 3.0, 24).reshape(4, 6)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(fn(probe), dtype=np.float64)
    except Exception:
        return None
    for op in ACTIVATIONS:
        if out.shape == probe.shape and np.allclose(out, op.fn(probe), rtol=1e-12, atol=1e-12):
            return op
    return None


def dropout(p: float) -> Op:
    """Inverted dropout y = x ⊙ M with M = 1[r ≥ p]/(1 − p), from the uniform draws r."""
    scale = 1.0 / (1.0 - p)

    def mask(r):
        return (r >= p) * scale

    return Op(
        "dropout",
        lambda x, r: x * mask(r),
        (
            Variant(
                "no_mask",
                0,
                lambda g, a, y, m: g,
                "dropout mask M missing: ∂L/∂{x} was taken equal to ∂L/∂{y}",
                "∂L/∂{x} = ∂L/∂{y} ⊙ M",
            ),
            Variant(
                "unscaled_mask",
                0,
                lambda g, a, y, m: g * (a[1] >= p),
                "dropout mask used without its 1/(1 − p) scale (M's entries are 0 or 1/(1 − p))",
                "∂L/∂{x} = ∂L/∂{y} ⊙ M with M = 1[r ≥ p]/(1 − p)",
            ),
            Variant(
                "mask_sgn_literal",
                0,
                lambda g, a, y, m: g * np.maximum(a[1] - p, 0.0) * scale,
                "M = sgn(r − p)/(1 − p) with sgn(x) = (x + |x|)/2 taken literally: that is "
                "max(r − p, 0)/(1 − p), not the step",
                "M = 1[r ≥ p]/(1 − p): read sgn as the step function",
            ),
            *(
                Variant(
                    f"mask_scale_{tag}",
                    0,
                    lambda g, a, y, m, k=k: g * (a[1] >= p) * k,
                    f"the dropout mask's scale written as {text} instead of 1/(1 − p)",
                    "∂L/∂{x} = ∂L/∂{y} ⊙ M with M = 1[r ≥ p]/(1 − p)",
                )
                for tag, k, text in (
                    ("p", p, "p"),
                    ("1_over_p", 1.0 / p, "1/p"),
                    ("1_minus_p", 1.0 - p, "(1 − p)"),
                )
            ),
            Variant(
                "mask_scale_only",
                0,
                lambda g, a, y, m: g * scale,
                "only the dropout mask's scale 1/(1 − p) was applied, not its 0/1 pattern 1[r ≥ p]",
                "∂L/∂{x} = ∂L/∂{y} ⊙ M with M = 1[r ≥ p]/(1 − p), the forward pass's mask",
            ),
            Variant(
                "mask_twice",
                0,
                lambda g, a, y, m: g * mask(a[1]) ** 2,
                "the dropout mask applied twice: ∂L/∂{x} used ∂L/∂{y} ⊙ M ⊙ M (the scale "
                "1/(1 − p) twice)",
                "∂L/∂{x} = ∂L/∂{y} ⊙ M, once",
            ),
            Variant(
                "mask_inverted",
                0,
                lambda g, a, y, m: g * (a[1] < p) * scale,
                "the dropout mask inverted: the dropped units (r < p) kept and the kept ones "
                "dropped",
                "∂L/∂{x} = ∂L/∂{y} ⊙ M with M = 1[r ≥ p]/(1 − p), the forward pass's mask",
            ),
        ),
        "x ⊙ M, M = 1[r ≥ p]/(1 − p)",
    )


def _centre(x, b):
    return x - anp.mean(x, axis=0) + b


bn_star = Op(
    "bn_star",
    _centre,
    (
        Variant(
            "bn_factor",
            0,
            lambda g, a, y, m: (1 - 1 / m) * g,
            "the batch-mean coupling written as a (1 − 1/m) factor: each row's own term "
            "only; ∂L/∂{x}_i = g_i − (1/m) Σ_j g_j (g = ∂L/∂{y})",
            "∂L/∂{x}_i = g_i − (1/m) Σ_j g_j, the mean over the batch of g",
        ),
        Variant(
            "bn_uncoupled",
            0,
            lambda g, a, y, m: g,
            "the batch mean was treated as a constant: ∂L/∂{x}_i must be "
            "g_i − (1/m) Σ_j g_j (g = ∂L/∂{y}), not g_i",
            "subtract the batch mean of g: ∂L/∂{x}_i = g_i − (1/m) Σ_j g_j",
        ),
        Variant(
            "bn_mean_term_sign",
            0,
            lambda g, a, y, m: g + g.mean(axis=0),
            "the term through the batch mean has its sign flipped: g_i + (1/m) Σ_j g_j "
            "(g = ∂L/∂{y})",
            "∂L/∂{x}_i = g_i − (1/m) Σ_j g_j: the mean enters with a minus",
        ),
        Variant(
            "bn_sum_for_mean",
            0,
            lambda g, a, y, m: g - g.sum(axis=0),
            "the batch sum where the batch mean belongs: g_i − Σ_j g_j, without the 1/m "
            "(g = ∂L/∂{y})",
            "∂L/∂{x}_i = g_i − (1/m) Σ_j g_j, the mean over the batch of g",
        ),
        Variant(
            "bn_mean_over_axis_1",
            0,
            lambda g, a, y, m: g - g.mean(axis=1, keepdims=True),
            "the mean of g taken over axis 1 (the features of each row) instead of axis 0 "
            "(the batch): g_i − mean_k g_ik (g = ∂L/∂{y})",
            "∂L/∂{x}_i = g_i − (1/m) Σ_j g_j, the mean over the batch: .mean(axis=0)",
        ),
        Variant(
            "bn_mean_term_twice",
            0,
            lambda g, a, y, m: g - 2 * g.mean(axis=0),
            "the term through the batch mean counted twice: g_i − (2/m) Σ_j g_j (g = ∂L/∂{y})",
            "∂L/∂{x}_i = g_i − (1/m) Σ_j g_j: the mean's term once",
        ),
    ),
    "x − mean_batch(x) + b",
)


def _bn(x):
    mu = anp.mean(x, axis=0)
    var = anp.mean((x - mu) ** 2, axis=0)
    return (x - mu) / anp.sqrt(var + BN_EPS)


BN_EPS = 1e-5


def _bn_parts(a, eps: float = BN_EPS):
    x = a[0]
    mu = x.mean(axis=0)
    sigma = np.sqrt(((x - mu) ** 2).mean(axis=0) + eps)
    return (x - mu) / sigma, sigma


def _bn_vjp(
    mean_term: float | Callable[[int], float],
    var_term: float | Callable[[int], float],
    diag_only: bool = False,
    eps: float = BN_EPS,
    power: int = 1,
    xhat_eps: float | None = None,
):
    """(1/σ_B^power)(g_i − mean_term · mean_j g_j − var_term · x̂_i mean_j(g_j x̂_j)): the
    true ∂L/∂x with coefficients (1, 1) (a coefficient may be a function of m), ε in σ_B
    (and in x̂: ``xhat_eps``, default ε) and power 1; each slip changes one."""

    def vjp(g, a, y, m):
        _, sigma = _bn_parts(a, eps)
        xhat, _ = _bn_parts(a, eps if xhat_eps is None else xhat_eps)
        if diag_only:
            return g * (1 - 1 / m - xhat * xhat / m) / sigma
        cm = mean_term(m) if callable(mean_term) else mean_term
        cv = var_term(m) if callable(var_term) else var_term
        out = g - cm * g.mean(axis=0) - cv * xhat * (g * xhat).mean(axis=0)
        return out / sigma**power

    return vjp


_BN_FIX = "∂L/∂{x}_i = (1/σ_B)(g_i − mean_j g_j − x̂_i mean_j(g_j x̂_j)), g = ∂L/∂x̂"


def _bn_term_slips() -> tuple[Variant, ...]:
    """One of the two batch-coupling terms with its sign flipped, counted twice, or with a
    sum over the batch where the mean belongs."""
    out = []
    for term, what, coeffs in (
        ("mean", "μ_B, −(1/σ_B) mean_j g_j", lambda c: (c, 1.0)),
        ("var", "σ_B², −(1/σ_B) x̂_i mean_j(g_j x̂_j)", lambda c: (1.0, c)),
    ):
        for tag, c, how in (
            ("sign", -1.0, "its sign flipped"),
            ("twice", 2.0, "counted twice"),
            ("sum", float, "a sum over the batch where the mean belongs (its 1/m lost)"),
        ):
            out.append(
                Variant(
                    f"bn_{term}_term_{tag}",
                    0,
                    _bn_vjp(*coeffs(c)),
                    f"the term through {what}: {how}",
                    _BN_FIX,
                )
            )
    return tuple(out)


batchnorm = Op(
    "batchnorm",
    _bn,
    (
        Variant(
            "bn_uncoupled",
            0,
            _bn_vjp(0.0, 0.0),
            "μ_B and σ_B² were treated as constants: the batch coupling of {y} is missing",
            _BN_FIX,
        ),
        Variant(
            "bn_no_mean_term",
            0,
            _bn_vjp(0.0, 1.0),
            "the term through μ_B is missing: −(1/σ_B) mean_j g_j",
            _BN_FIX,
        ),
        Variant(
            "bn_no_var_term",
            0,
            _bn_vjp(1.0, 0.0),
            "the term through σ_B² is missing: −(1/σ_B) x̂_i mean_j(g_j x̂_j)",
            _BN_FIX,
        ),
        Variant(
            "bn_factor",
            0,
            _bn_vjp(0.0, 0.0, diag_only=True),
            "only the diagonal j = i of the batch coupling was kept (a per-row factor "
            "(1 − 1/m − x̂_i²/m)/σ_B instead of the sums over the batch)",
            _BN_FIX,
        ),
        *_bn_term_slips(),
        Variant(
            "bn_mean_over_axis_1",
            0,
            lambda g, a, y, m: (
                (
                    g
                    - g.mean(axis=1, keepdims=True)
                    - _bn_parts(a)[0] * (g * _bn_parts(a)[0]).mean(axis=1, keepdims=True)
                )
                / _bn_parts(a)[1]
            ),
            "the means over the batch taken over axis 1 (the features of each row) "
            "instead of axis 0 (the batch)",
            _BN_FIX + ": mean_j over the rows, .mean(axis=0)",
        ),
        Variant(
            "bn_var_for_sigma",
            0,
            _bn_vjp(1.0, 1.0, power=2),
            "σ_B² where σ_B belongs: divided by σ_B² + ε instead of σ_B = √(σ_B² + ε) "
            "(the result is the truth times 1/σ_B per feature)",
            _BN_FIX + ", σ_B = √(σ_B² + ε)",
        ),
        Variant(
            "bn_var_for_sigma",
            0,
            _bn_vjp(1.0, 1.0, power=2, eps=0.0, xhat_eps=BN_EPS),
            "σ_B² where σ_B belongs: divided by σ_B² (without ε) instead of σ_B = √(σ_B² + ε)",
            _BN_FIX + ", σ_B = √(σ_B² + ε)",
        ),
        Variant(
            "bn_no_eps",
            0,
            _bn_vjp(1.0, 1.0, eps=0.0, xhat_eps=BN_EPS),
            "ε dropped in σ_B: divided by √σ_B² with x̂ as given (the error is of order "
            "ε/σ_B², e.g. 1e-6 relative at σ_B² ≈ 4; with m = 2 rows the true ∂L/∂{x} is "
            "itself of order ε, so the error looks total there)",
            _BN_FIX + ", σ_B = √(σ_B² + ε) with the forward pass's ε",
        ),
        Variant(
            "bn_no_eps",
            0,
            _bn_vjp(1.0, 1.0, eps=0.0),
            "ε dropped: x̂ and σ_B computed as if σ_B = √σ_B² (the error is of order "
            "ε/σ_B², e.g. 1e-6 relative at σ_B² ≈ 4; with m = 2 rows the true ∂L/∂{x} is "
            "itself of order ε, so the error looks total there)",
            _BN_FIX + ", σ_B = √(σ_B² + ε) with the forward pass's ε",
        ),
    ),
    "x̂ = (x − μ_B)/√(σ_B² + ε)",
)

scale_shift = Op("scale_shift", lambda xhat, gamma, beta: gamma * xhat + beta, formula="γ x̂ + β")


def _softmax(z):
    e = anp.exp(z - anp.max(z, axis=-1, keepdims=True))
    return e / anp.sum(e, axis=-1, keepdims=True)


softmax = Op(
    "softmax",
    _softmax,
    (
        Variant(
            "softmax_diag_only",
            0,
            lambda g, a, y, m: g * y * (1 - y),
            "the softmax Jacobian's off-diagonal terms −{y}_i {y}_k were dropped: "
            "only {y}_i(1 − {y}_i) was kept",
            "∂L/∂{x}_k = {y}_k (g_k − Σ_i g_i {y}_i), g = ∂L/∂{y}",
        ),
        Variant(
            "softmax_no_diag",
            0,
            lambda g, a, y, m: -y * (g * y).sum(axis=-1, keepdims=True),
            "the softmax Jacobian's diagonal term {y}_i δ_ik was dropped: only −{y}_i {y}_k "
            "was kept",
            "∂L/∂{x}_k = {y}_k (g_k − Σ_i g_i {y}_i), g = ∂L/∂{y}",
        ),
        Variant(
            "softmax_sum_without_y",
            0,
            lambda g, a, y, m: y * (g - g.sum(axis=-1, keepdims=True)),
            "Σ_i g_i where Σ_i g_i {y}_i belongs: {y}_k (g_k − Σ_i g_i) (g = ∂L/∂{y})",
            "∂L/∂{x}_k = {y}_k (g_k − Σ_i g_i {y}_i), g = ∂L/∂{y}",
        ),
        Variant(
            "softmax_sum_over_axis_0",
            0,
            lambda g, a, y, m: y * (g - (g * y).sum(axis=0, keepdims=True)),
            "Σ_i g_i {y}_i summed over axis 0 (the batch rows) instead of axis 1 (the "
            "classes of each row)",
            "∂L/∂{x}_k = {y}_k (g_k − Σ_i g_i {y}_i), the sum over each row: "
            ".sum(axis=1, keepdims=True)",
        ),
        Variant(
            "softmax_offdiag_sign",
            0,
            lambda g, a, y, m: y * (g + (g * y).sum(axis=-1, keepdims=True)),
            "the softmax Jacobian's off-diagonal terms with the sign flipped: +{y}_i {y}_k "
            "instead of −{y}_i {y}_k",
            "∂L/∂{x}_k = {y}_k (g_k − Σ_i g_i {y}_i), g = ∂L/∂{y}",
        ),
    ),
    "softmax(z) (rows)",
)


def _mse_half(yhat, y):
    return 0.5 * anp.sum((yhat - y) ** 2) / yhat.shape[0]


mse_half = Op(
    "mse_half",
    _mse_half,
    (
        Variant(
            "mse_factor_2",
            0,
            lambda g, a, y, m: g * 2 * (a[0] - a[1]) / m,
            "the ½ of ½‖{x} − y‖² was dropped: a factor 2 too large",
            "∂(½‖ŷ − y‖²)/∂ŷ = ŷ − y (the 2 of the square cancels the ½)",
            factor=2.0,
        ),
    ),
    "(1/m) Σ_i ½‖ŷ_i − y_i‖²",
)

cross_entropy = Op(
    "cross_entropy",
    lambda p, y: -anp.sum(y * anp.log(p)) / p.shape[0],
    formula="−(1/m) Σ_i Σ_k y_ik log p_ik",
)

gaussian_kl = Op(
    "gaussian_kl",
    lambda mu, logvar: -0.5 * anp.sum(1 + logvar - mu**2 - anp.exp(logvar)) / mu.shape[0],
    (
        Variant(
            "kl_no_half",
            1,
            lambda g, a, y, m: g * (np.exp(a[1]) - 1) / m,
            "the ½ of the KL was dropped in ∂KL/∂log σ²: a factor 2 too large",
            "∂KL/∂log σ² = ½(σ² − 1) per entry (divided by m for the batch mean)",
            factor=2.0,
        ),
        Variant(
            "kl_exp_not_differentiated",
            1,
            lambda g, a, y, m: g * np.full_like(a[1], -0.5) / m,
            "exp(log σ²) was taken as a constant: ∂KL/∂log σ² came out −½ instead of ½(σ² − 1)",
            "d exp(log σ²)/d log σ² = σ²: ∂KL/∂log σ² = ½(σ² − 1)",
        ),
        Variant(
            "kl_sigma_for_variance",
            1,
            lambda g, a, y, m: g * 0.5 * (np.exp(0.5 * a[1]) - 1) / m,
            "σ where σ² belongs in ∂KL/∂log σ²: ½(σ − 1) instead of ½(σ² − 1)",
            "∂KL/∂log σ² = ½(σ² − 1) per entry, σ² = exp(log σ²)",
        ),
    ),
    "KL = −(1/m) Σ ½(1 + log σ² − μ² − σ²)",
)


def _gauss_nll(x, mean, logvar):
    sq = (x - mean) ** 2 * anp.exp(-logvar)
    return 0.5 * anp.sum(np.log(2 * np.pi) + logvar + sq) / x.shape[0]


gaussian_nll = Op(
    "gaussian_nll",
    _gauss_nll,
    (
        Variant(
            "nll_no_variance",
            1,
            lambda g, a, y, m: g * (a[1] - a[0]) / m,
            "the 1/σ² of the Gaussian was dropped in ∂NLL/∂μ",
            "∂NLL/∂μ = (μ − x)/σ² per entry",
        ),
        Variant(
            "nll_sigma_for_variance",
            2,
            lambda g, a, y, m: g * 0.5 * (1 - (a[0] - a[1]) ** 2 * np.exp(-0.5 * a[2])) / m,
            "σ where σ² belongs in ∂NLL/∂log σ²: ½(1 − (x − μ)²/σ) instead of ½(1 − (x − μ)²/σ²)",
            "∂NLL/∂log σ² = ½(1 − (x − μ)²/σ²) per entry, σ² = exp(x̂v)",
        ),
        Variant(
            "nll_sigma_for_variance",
            1,
            lambda g, a, y, m: g * (a[1] - a[0]) * np.exp(-0.5 * a[2]) / m,
            "σ where σ² belongs in ∂NLL/∂μ: (μ − x)/σ instead of (μ − x)/σ²",
            "∂NLL/∂μ = (μ − x)/σ² per entry, σ² = exp(x̂v)",
        ),
        Variant(
            "nll_logvar_no_half",
            2,
            lambda g, a, y, m: g * (1 - (a[0] - a[1]) ** 2 * np.exp(-a[2])) / m,
            "the ½ of the Gaussian NLL was dropped in ∂NLL/∂log σ²: a factor 2 too large",
            "∂NLL/∂log σ² = ½(1 − (x − μ)²/σ²) per entry",
            factor=2.0,
        ),
    ),
    "NLL = (1/m) Σ ½[log 2π + log σ² + (x − μ)²/σ²]",
)


def _bernoulli_nll(x, logits):
    softplus = anp.logaddexp(0.0, logits)
    return anp.sum(softplus - x * logits) / x.shape[0]


def _bce_wrt_p(g, a, y, m):
    p = 1 / (1 + np.exp(-a[1]))
    return g * (p - a[0]) / (p * (1 - p)) / m


bernoulli_nll = Op(
    "bernoulli_nll",
    _bernoulli_nll,
    (
        Variant(
            "bce_grad_wrt_p",
            1,
            _bce_wrt_p,
            "∂NLL/∂p used for ∂NLL/∂logits: (p − x)/(p(1 − p)) lacks the σ′ = p(1 − p) factor",
            "∂NLL/∂logits = σ(logits) − x per entry",
        ),
    ),
    "NLL = (1/m) Σ [softplus(l) − x l]",
)


def _exp_half(logvar):
    return anp.exp(0.5 * logvar)


exp_half = Op(
    "exp_half",
    _exp_half,
    (
        Variant(
            "reparam_no_half",
            0,
            lambda g, a, y, m: g * y,
            "the ½ of σ = exp(½ log σ²) was dropped: ∂σ/∂log σ² = ½σ, not σ",
            "∂L/∂log σ² = ∂L/∂σ ⊙ ½σ",
            factor=2.0,
        ),
        Variant(
            "reparam_variance_for_sigma",
            0,
            lambda g, a, y, m: g * 0.5 * y**2,
            "σ² where σ belongs: ∂σ/∂log σ² written as ½σ² instead of ½σ",
            "∂L/∂log σ² = ∂L/∂σ ⊙ ½σ with σ = exp(½ log σ²)",
        ),
    ),
    "σ = exp(½ log σ²)",
)

noise = Op(
    "noise",
    lambda sigma, eps: sigma * eps,
    (
        Variant(
            "reparam_no_eps",
            0,
            lambda g, a, y, m: g,
            "the noise ε was left out: ∂(σ ⊙ ε)/∂σ = ε",
            "∂L/∂σ = ∂L/∂z ⊙ ε",
        ),
    ),
    "σ ⊙ ε",
)
