"""Check hand-derived gradient formulas of the multi-task network, and explain mismatches.

The file format (see ``examples/formulas_correct.py``): a Python file defining, for any of
the eight parameters, a function ``grad_<name>(q)`` that returns ∂L/∂<name> as an array of
the parameter's shape, e.g.::

    def grad_b2B(q):
        return (q.yhatB - q.yB).sum(axis=0) / q.m

``q`` is a read-only namespace of one batch's forward quantities, named as in the
derivation (shapes for a batch of m rows): x (m, n); z1A, x1A, M, xDP (m, h); x2A = yhatA,
x1B, mu, xBN, xBNs, xplus (m, a; mu is (a,)); z2B, yhatB, log_yhatB (m, b); the targets
yA (m, a), yB (m, b) one-hot; m and the dropout probability p; and the parameters
theta1A (h, n), b1A (h,), theta2A (a, h), b2A (a,), theta1B (a, n), b1B (a,), theta2B (b, a),
b2B (b,). Parameters without a function are reported "not given".

`check_formulas` evaluates each formula on random float64 batches for several m (1
included) and compares it with `MultiTaskNet.backward` (itself proven against finite
differences and autograd). A wrong formula gets a one-line explanation: first the
smallest combination of classic mistakes (`MISTAKES`) that reproduces it exactly, else a
generic description (sign flip, a factor and how it depends on m, correct only at m = 1),
plus where it is wrong (which entries, relative error per m).
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handgrad.checks.network import Problem, sample_problem
from handgrad.errors import HandgradError
from handgrad.gradcheck import compare
from handgrad.models.multitask import PARAM_NAMES

Formula = Callable[[types.SimpleNamespace], np.ndarray]

# Non-square shapes, all different, so that a transposed gradient never has the right shape.
DEFAULT_DIMS = {"n": 5, "h": 4, "a": 3, "b": 6}
DEFAULT_BATCHES = (1, 2, 3, 5, 8)
DEFAULT_P = 0.5
RTOL = 1e-8

# The reference derivation (report 000, section 2.2, with sgn read as 1[x > 0]), per parameter.
_DA = r"\big[(\hat y_A^i - y_A^i) + \theta_{2B}^\top(\hat y_B^i - y_B^i)\big]"
_G = r"g^i = \tfrac{1}{m}\,\theta_{2B}^\top(\hat y_B^i - y_B^i) \odot \mathbb{1}[x_{BN}^i > 0]"
_COS = r" \odot M^i \odot \cos z_{1A}^i"


def _lhs(symbol: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {symbol}}} = "


REFERENCE_FORMULAS: dict[str, str] = {
    "theta1A": _lhs(r"\theta_{1A}")
    + r"\frac{1}{m}\sum_{i=1}^m \Big(\theta_{2A}^\top"
    + _DA
    + _COS
    + r"\Big)(x^i)^\top",
    "b1A": _lhs("b_{1A}") + r"\frac{1}{m}\sum_{i=1}^m \theta_{2A}^\top" + _DA + _COS,
    "theta2A": _lhs(r"\theta_{2A}") + r"\frac{1}{m}\sum_{i=1}^m " + _DA + r"(x_{DP}^i)^\top",
    "b2A": _lhs("b_{2A}") + r"\frac{1}{m}\sum_{i=1}^m " + _DA,
    "theta1B": _lhs(r"\theta_{1B}")
    + r"\sum_{i=1}^m \Big(g^i - \frac{1}{m}\sum_{j=1}^m g^j\Big)(x^i)^\top,\quad "
    + _G,
    "b1B": _lhs("b_{1B}") + r"\sum_{i=1}^m g^i,\quad " + _G,
    "theta2B": _lhs(r"\theta_{2B}")
    + r"\frac{1}{m}\sum_{i=1}^m (\hat y_B^i - y_B^i)(x_\oplus^i)^\top",
    "b2B": _lhs("b_{2B}") + r"\frac{1}{m}\sum_{i=1}^m (\hat y_B^i - y_B^i)",
}


@dataclass(frozen=True)
class Mistake:
    """A classic slip in the derivation: what it is (one line) and which gradients it changes."""

    key: str
    explanation: str
    affects: tuple[str, ...]


_TASK_A = ("theta1A", "b1A")
MISTAKES: dict[str, Mistake] = {
    m.key: m
    for m in (
        Mistake(
            "bn_factor",
            "BN*'s batch-mean coupling written as a (1 − 1/m) factor; ∂L/∂x1B_i must be "
            "g_i − (1/m) Σ_j g_j (g = ∂L/∂xBN)",
            ("theta1B",),
        ),
        Mistake(
            "bn_uncoupled",
            "BN* batch mean ignored: ∂L/∂x1B_i must be g_i − (1/m) Σ_j g_j, not g_i",
            ("theta1B",),
        ),
        Mistake(
            "relu_as_step",
            "ReLU′ written as (x + |x|)/2, which is ReLU itself; use the step 1[xBN > 0]",
            ("theta1B", "b1B"),
        ),
        Mistake(
            "no_task_b_term",
            "∂L/∂ŷA lacks its task-B term: x2A also feeds x⊕, so add (1/m) θ2Bᵀ(ŷB − yB)",
            ("theta2A", "b2A", *_TASK_A),
        ),
        Mistake(
            "no_mask",
            "dropout mask M missing: ∂L/∂z1A = ∂L/∂xDP ⊙ M ⊙ cos(z1A)",
            _TASK_A,
        ),
        Mistake(
            "unscaled_mask",
            "dropout mask used without its 1/(1 − p) scale: M's entries are 0 or 1/(1 − p)",
            _TASK_A,
        ),
        Mistake(
            "no_cos",
            "sin′ missing: ∂L/∂z1A needs the factor cos(z1A)",
            _TASK_A,
        ),
        Mistake(
            "sin_for_cos",
            "sin′ written as sin (or −cos); d sin(z)/dz = cos(z)",
            _TASK_A,
        ),
    )
}


def derived_gradients(
    q: types.SimpleNamespace, mistakes: frozenset[str] = frozenset()
) -> dict[str, np.ndarray]:
    """The derivation's eight gradients from the quantities ``q``, with chosen `MISTAKES` made.

    With no mistakes this equals `MultiTaskNet.backward` (a test keeps it so); each mistake
    switches one step of the chain to its classic wrong form, so a user's formula can be
    recognised as "the reference with these mistakes".
    """
    m = q.m
    dz2B = (q.yhatB - q.yB) / m  # ∂L/∂z2B
    dxplus = dz2B @ q.theta2B  # ∂L/∂x⊕
    relu_grad = (q.xBN + np.abs(q.xBN)) / 2 if "relu_as_step" in mistakes else q.xBN > 0
    dxBN = dxplus * relu_grad  # ∂L/∂xBN
    if "bn_factor" in mistakes:
        dx1B = (1 - 1 / m) * dxBN
    elif "bn_uncoupled" in mistakes:
        dx1B = dxBN
    else:
        dx1B = dxBN - dxBN.mean(axis=0)  # ∂L/∂x1B
    dyhatA = (q.yhatA - q.yA) / m  # ∂L/∂ŷA, task-A term
    if "no_task_b_term" not in mistakes:
        dyhatA = dyhatA + dxplus  # ... and its task-B term
    mask = q.M
    if "no_mask" in mistakes:
        mask = np.ones_like(q.M)
    elif "unscaled_mask" in mistakes:
        mask = (q.M != 0).astype(q.M.dtype)
    if "no_cos" in mistakes:
        dsin = np.ones_like(q.z1A)
    elif "sin_for_cos" in mistakes:
        dsin = np.sin(q.z1A)
    else:
        dsin = np.cos(q.z1A)
    dz1A = (dyhatA @ q.theta2A) * mask * dsin  # ∂L/∂z1A
    return {
        "theta1A": dz1A.T @ q.x,
        "b1A": dz1A.sum(axis=0),
        "theta2A": dyhatA.T @ q.xDP,
        "b2A": dyhatA.sum(axis=0),
        "theta1B": dx1B.T @ q.x,
        "b1B": dxBN.sum(axis=0),
        "theta2B": dz2B.T @ q.xplus,
        "b2B": dz2B.sum(axis=0),
    }


# --- loading a user's file -------------------------------------------------------------------
def load_formulas(path: str | Path) -> dict[str, Formula]:
    """The ``grad_<param>`` functions of a Python file, by parameter name.

    Raises a one-line `HandgradError` for a missing file, a syntax error (with its line),
    an error while running the file, a ``grad_`` name that is no parameter, a non-function,
    or a file with no formulas at all.
    """
    path = Path(path)
    if not path.is_file():
        raise HandgradError(
            f"{path}: file not found; give a Python file of grad_<param>(q) functions"
        )
    try:
        source = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise HandgradError(f"{path}: cannot read the file ({e})") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as e:
        raise HandgradError(f"{path}:{e.lineno}: syntax error: {e.msg}") from None
    namespace: dict[str, object] = {"__name__": "handgrad_user_formulas", "__file__": str(path)}
    try:
        exec(code, namespace)
    except Exception as e:
        raise HandgradError(
            f"{path}:{_user_line(e, path)}: running the file raised {type(e).__name__}: {e}"
        ) from None
    formulas: dict[str, Formula] = {}
    for name, value in namespace.items():
        if not name.startswith("grad_"):
            continue
        param = name[len("grad_") :]
        if param not in PARAM_NAMES:
            raise HandgradError(
                f"{path}: {name} names no parameter; use grad_<p> with p one of "
                f"{', '.join(PARAM_NAMES)}"
            )
        if not callable(value):
            raise HandgradError(f"{path}: {name} must be a function grad_{param}(q)")
        formulas[param] = value  # type: ignore[assignment]
    if not formulas:
        raise HandgradError(
            f"{path}: defines no grad_<param>(q) functions; see examples/formulas_correct.py"
        )
    return formulas


def _user_line(error: BaseException, path: Path) -> str:
    """The line of ``path`` where ``error`` was raised, as text ('?' if not in that file)."""
    line = "?"
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(path):
            line = str(tb.tb_lineno)
        tb = tb.tb_next
    return line


# --- evaluating on random batches -------------------------------------------------------------
def quantities(problem: Problem) -> types.SimpleNamespace:
    """The read-only namespace ``q`` a user formula receives for one batch (see module doc)."""
    net = problem.net
    net.forward(problem.x, problem.mask, training=True)
    fwd = net.residuals
    values: dict[str, object] = dict(fwd.as_dict())
    values["yA"] = problem.yA
    values["yB"] = problem.yB
    values.update({name: p.data for name, p in net.params.items()})
    frozen = {}
    for k, v in values.items():
        v = np.array(v, copy=True)
        v.setflags(write=False)
        frozen[k] = v
    return types.SimpleNamespace(**frozen, m=fwd.m, p=net.p)


def true_gradients(problem: Problem) -> dict[str, np.ndarray]:
    """The network's own backward (checked against finite differences and autograd)."""
    problem.loss()
    problem.net.zero_grad()
    problem.net.loss_backward()
    return {name: p.grad.copy() for name, p in problem.net.params.items()}


def _evaluate(path: Path, fname: str, f: Formula, q: types.SimpleNamespace, shape) -> np.ndarray:
    try:
        out = f(q)
    except Exception as e:
        raise HandgradError(
            f"{path}:{_user_line(e, path)}: {fname}(q) raised {type(e).__name__}: {e} "
            f"(batch of m={q.m})"
        ) from None
    try:
        out = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise HandgradError(
            f"{path}: {fname}(q) returned {type(out).__name__}, not a numeric array"
        ) from None
    if out.shape != shape:
        hint = (
            "; that is the transpose, swap the factors of the outer product"
            if (out.shape == shape[::-1])
            else ""
        )
        raise HandgradError(
            f"{path}: {fname}(q) returned shape {out.shape}, expected {shape}{hint}"
        )
    return out


@dataclass
class Batch:
    """One random batch: the quantities, the true gradients, and each user formula's value."""

    q: types.SimpleNamespace
    truth: dict[str, np.ndarray]
    user: dict[str, np.ndarray]


@dataclass
class FormulaResult:
    """The verdict on one parameter's formula."""

    name: str
    status: str  # "ok", "FAIL" or "not given"
    max_rel_err: float = float("nan")
    explanation: str = ""
    where: str = ""


@dataclass
class FormulaReport:
    """Every parameter's verdict, and how the batches were drawn."""

    path: str
    batch_sizes: tuple[int, ...]
    dims: dict[str, int]
    p: float
    results: list[FormulaResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 if every given formula is right, 1 if any is wrong."""
        return 1 if any(r.status == "FAIL" for r in self.results) else 0

    def format(self) -> str:
        """A plain-text report: one row per parameter, a 'where' line under each failure."""
        dims = " ".join(f"{k}={v}" for k, v in self.dims.items())
        ms = ", ".join(map(str, self.batch_sizes))
        lines = [
            f"checking {self.path} on random float64 batches: m = {ms}; {dims}; "
            f"dropout p={self.p:g}",
        ]
        width = max(len(r.name) for r in self.results)
        for r in self.results:
            err = "" if np.isnan(r.max_rel_err) else f"{r.max_rel_err:.1e}"
            lines.append(f"{r.name:<{width}}  {r.status:<9}  {err:>7}  {r.explanation}".rstrip())
            if r.where:
                lines.append(f"{'':<{width}}  {'':<9}  {'':>7}  where: {r.where}")
        counts = {s: sum(r.status == s for r in self.results) for s in ("ok", "FAIL", "not given")}
        lines.append(
            f"{counts['ok']} correct, {counts['FAIL']} wrong, {counts['not given']} not given"
        )
        return "\n".join(lines)


def check_formulas(
    path: str | Path,
    *,
    batch_sizes: tuple[int, ...] = DEFAULT_BATCHES,
    dims: dict[str, int] | None = None,
    p: float = DEFAULT_P,
    seed: int = 0,
    rtol: float = RTOL,
) -> FormulaReport:
    """Load the formulas of ``path``, evaluate them on one batch per m, and explain mismatches."""
    path = Path(path)
    formulas = load_formulas(path)
    dims = dict(DEFAULT_DIMS if dims is None else dims)
    batches = []
    for i, m in enumerate(batch_sizes):
        problem = sample_problem(m, dims["n"], dims["h"], dims["a"], dims["b"], p, seed + i)
        q = quantities(problem)
        truth = true_gradients(problem)
        user = {
            name: _evaluate(path, f"grad_{name}", f, q, truth[name].shape)
            for name, f in formulas.items()
        }
        batches.append(Batch(q, truth, user))
    report = FormulaReport(str(path), tuple(batch_sizes), dims, p)
    for name in PARAM_NAMES:
        if name not in formulas:
            report.results.append(FormulaResult(name, "not given"))
        else:
            report.results.append(_judge(name, batches, rtol))
    return report


# --- explaining a mismatch -------------------------------------------------------------------
def _max_rel(name: str, got: np.ndarray, want: np.ndarray, rtol: float) -> float:
    return compare(name, got, want, rtol).max_rel_err


def _judge(name: str, batches: list[Batch], rtol: float) -> FormulaResult:
    errs = [_max_rel(name, b.user[name], b.truth[name], rtol) for b in batches]
    worst = max(errs)
    if worst <= rtol:
        return FormulaResult(name, "ok", worst)
    return FormulaResult(
        name, "FAIL", worst, explain(name, batches, rtol), _where(name, batches, errs, rtol)
    )


def explain(name: str, batches: list[Batch], rtol: float = RTOL) -> str:
    """One line saying what is wrong with the user's formula for ``name`` (see module doc)."""
    if any(not np.isfinite(b.user[name]).all() for b in batches):
        return "returns NaN or inf; look for a division by zero or log of 0"
    mistakes = _matching_mistakes(name, batches, rtol)
    if mistakes:
        return "; and ".join(MISTAKES[k].explanation for k in mistakes)
    return _generic_explanation(name, batches, rtol)


def _matching_mistakes(name: str, batches: list[Batch], rtol: float) -> tuple[str, ...]:
    """The smallest set of `MISTAKES` reproducing the user's formula on every batch, if any."""
    relevant = [k for k, mk in MISTAKES.items() if name in mk.affects]
    for size in range(1, len(relevant) + 1):
        for combo in itertools.combinations(relevant, size):
            chosen = frozenset(combo)
            if all(
                _max_rel(name, b.user[name], derived_gradients(b.q, chosen)[name], rtol) <= rtol
                for b in batches
            ):
                return combo
    return ()


def _ratio(user: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Least-squares c with user ≈ c · truth, and the relative residual ‖user − c·truth‖/scale.

    A zero true gradient gives c = nan (any c fits) and residual 0 exactly when user is 0.
    """
    tt = float((truth * truth).sum())
    if tt == 0.0:
        return float("nan"), 0.0 if not user.any() else 1.0
    c = float((user * truth).sum()) / tt
    scale = max(float(np.linalg.norm(user)), np.sqrt(tt))
    return c, float(np.linalg.norm(user - c * truth)) / scale


def _generic_explanation(name: str, batches: list[Batch], rtol: float) -> str:
    """Explain a mismatch no catalogued mistake reproduces: a factor, the m = 1 case, zeros."""
    if all(not b.user[name].any() for b in batches):
        return "returns all zeros"
    fits = [(b.q.m, *_ratio(b.user[name], b.truth[name])) for b in batches]
    if all(resid <= 1e3 * rtol for _, _, resid in fits):
        known = [(m, c) for m, c, _ in fits if not np.isnan(c)]
        if known:
            ms, cs = (np.array(v, dtype=np.float64) for v in zip(*known, strict=True))
            return _factor_explanation(ms, cs)
    ok = {b.q.m: _max_rel(name, b.user[name], b.truth[name], rtol) <= rtol for b in batches}
    if ok.get(1) and not all(ok.values()):
        return (
            "right at m = 1 but wrong for m ≥ 2: the coupling of the rows of the batch "
            "(the BN* batch mean) is mishandled"
        )
    return (
        "not a multiple of the true gradient and no known mistake: a term is missing or extra; "
        "compare it residual by residual with the derivation"
    )


def _factor_explanation(ms: np.ndarray, c: np.ndarray) -> str:
    """Name the factor c(m) by which a user's formula is off: constant, m, 1/m, 1 − 1/m, …"""
    close = lambda a, b: np.allclose(a, b, rtol=1e-6, atol=1e-9)  # noqa: E731
    if close(c, -1.0):
        return "sign flipped: the formula is −(true gradient); check (ŷ − y) vs (y − ŷ)"
    named = {
        "m": (ms, "a factor m too large: the 1/m of the batch mean is missing"),
        "1/m": (1 / ms, "an extra 1/m: the batch mean is taken twice"),
        "1 − 1/m": (1 - 1 / ms, "a spurious (1 − 1/m) factor"),
        "−m": (-ms, "sign flipped and the 1/m missing"),
    }
    for _label, (target, text) in named.items():
        if close(c, target):
            return text
    if close(c, c[0]):
        return f"off by a constant factor {c[0]:.6g} (same for every m)"
    # fit c(m) ≈ α + β/m + γ·m to describe the dependence on m
    basis = np.stack([np.ones_like(ms), 1 / ms, ms], axis=1)
    coef, *_ = np.linalg.lstsq(basis, c, rcond=None)
    alpha, beta, gamma = (float(v) for v in coef)
    return (
        f"off by a factor that depends on m: c(m) ≈ {alpha:.3g} + {beta:.3g}/m + {gamma:.3g}·m "
        f"(c = {', '.join(f'{v:.3g}' for v in c)} at m = {', '.join(str(int(v)) for v in ms)})"
    )


def _where(name: str, batches: list[Batch], errs: list[float], rtol: float) -> str:
    """Which entries are wrong (largest batch) and the relative error for each m."""
    big = max(batches, key=lambda b: b.q.m)
    user, truth = big.user[name], big.truth[name]
    scale = max(float(np.abs(truth).max()), 1e-12)
    wrong = ~np.isclose(user, truth, rtol=1e3 * rtol, atol=1e3 * rtol * scale)
    n_wrong, n = int(wrong.sum()), wrong.size
    if user.ndim == 2 and n_wrong:
        rows = np.flatnonzero(wrong.any(axis=1))
        cols = np.flatnonzero(wrong.any(axis=0))
        if len(rows) < user.shape[0]:
            entries = f"{n_wrong} of {n} entries wrong (rows {_list(rows)} only)"
        elif len(cols) < user.shape[1]:
            entries = f"{n_wrong} of {n} entries wrong (columns {_list(cols)} only)"
        else:
            entries = f"{n_wrong} of {n} entries wrong"
    elif n_wrong and n_wrong < n:
        entries = f"{n_wrong} of {n} entries wrong (indices {_list(np.flatnonzero(wrong))})"
    else:
        entries = f"{n_wrong} of {n} entries wrong"
    per_m = ", ".join(f"{b.q.m}: {e:.2g}" for b, e in zip(batches, errs, strict=True))
    right = [b.q.m for b, e in zip(batches, errs, strict=True) if e <= rtol]
    tail = f"; right at m = {_list(right)}" if right else ""
    return f"{entries} at m={big.q.m}; rel. error by m: {per_m}{tail}"


def _list(values) -> str:
    return ",".join(str(int(v)) for v in values)
