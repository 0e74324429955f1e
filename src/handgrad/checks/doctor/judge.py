"""Judging learner formulas against the true gradients, one verdict per quantity.

`judge(problem, formulas, batches)` evaluates every given formula on every batch (each
call guarded by `call_formula`, so one bad formula never stops the others), compares it
with the truth of that batch, and for a wrong one first tries to prove that it only
inherits the error of a wrong formula upstream (`inherit`: called again with the true
upstream value, it is right), else asks the problem's doctor for the exact mistake.
Tolerances: a float64 result must agree to `RTOL64`, a float32 one to
`RTOL32` (float32 rounding of a correct formula stays far below it; any real mistake
found in the catalogue changes entries by far more).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from handgrad.checks.doctor.call import TIME_LIMIT_S, FormulaError, NotWritten, call_formula
from handgrad.checks.doctor.families import TRANSPOSE_FIX
from handgrad.checks.doctor.inherit import right_with_true_upstream
from handgrad.checks.doctor.verdict import NO_MATCH, Verdict

RTOL64 = 1e-7
RTOL32 = 1e-3


def rel_error(got: np.ndarray, want: np.ndarray) -> float:
    """max|got − want| / max(max|want|, max|got|); 0 when both are 0."""
    scale = max(float(np.abs(want).max(initial=0.0)), float(np.abs(got).max(initial=0.0)))
    if scale == 0.0:
        return 0.0
    return float(np.abs(got - want).max(initial=0.0)) / scale


@dataclass
class Diagnosis:
    """The named mistake a wrong formula shows (``mistake`` None: nothing matches exactly)."""

    mistake: str | None
    explanation: str
    fix: str | None = None
    inherits: str | None = None


class Doctor(Protocol):
    """What `judge` needs from a problem: its quantities and a way to name mistakes."""

    name: str

    def quantities(self) -> Sequence[tuple[str, str]]:
        """(name, display symbol) of every checkable quantity, in backward order."""

    def diagnose(self, name: str, user: list[np.ndarray], batches: list) -> Diagnosis:
        """The exact mistake behind ``user`` (one array per batch), or mistake None."""


def tolerance(arrays: list[np.ndarray]) -> float:
    return RTOL32 if any(a.dtype == np.float32 for a in arrays) else RTOL64


def judge(
    doctor: Doctor,
    formulas: dict[str, Callable],
    batches: list,
    *,
    time_limit_s: float = TIME_LIMIT_S,
) -> list[Verdict]:
    """One `Verdict` per quantity of ``doctor`` (in its backward order).

    ``batches`` each have ``m``, ``q`` (the namespace a formula receives) and ``truth``
    (quantity name → true gradient). A wrong formula "inherits" the error of a wrong
    formula met before it (upstream ones come first) only when `right_with_true_upstream`
    proves it; the nearest such upstream is named.
    """
    answers = _evaluate_all(doctor, formulas, batches, time_limit_s)
    verdicts: dict[str, Verdict] = {}
    roots: dict[str, Verdict] = {}  # the first wrong residual behind an inherited error
    wrong_upstream: dict[str, Callable] = {}
    for name, symbol in doctor.quantities():
        answer = answers[name]
        if answer is None or isinstance(answer, NotWritten):
            verdicts[name] = Verdict(name, symbol, "not_given")
            continue
        if isinstance(answer, FormulaError):
            verdicts[name] = Verdict(name, symbol, "error", error=str(answer))
            continue
        f, user = formulas[name], answer
        heir_of = _proven_upstream(f, name, user, batches, wrong_upstream, time_limit_s)
        verdict = _compare(doctor, name, symbol, user, batches, heir_of)
        if verdict.inherits is not None:
            up = verdicts[verdict.inherits]
            roots[name] = roots.get(up.name, up)
            _inherit(verdict, up, roots[name])
        if verdict.status == "wrong" and verdict.mistake != "transpose":
            wrong_upstream[name] = f
        verdicts[name] = verdict
    return list(verdicts.values())


def _evaluate_all(
    doctor: Doctor, formulas: dict[str, Callable], batches: list, time_limit_s: float
) -> dict[str, list[np.ndarray] | FormulaError | None]:
    """Every given formula on every batch (None: not given; the error when it fails),
    before any is diagnosed: a diagnosis may evaluate a formula again with a true
    upstream value, and no answer that is judged may ever have seen one (a formula
    could keep it and return it later)."""
    answers: dict[str, list[np.ndarray] | FormulaError | None] = {}
    for name, _ in doctor.quantities():
        f = formulas.get(name)
        if f is None:
            answers[name] = None
            continue
        try:
            answers[name] = _evaluate(f, batches, name, time_limit_s)
        except FormulaError as e:  # NotWritten included
            answers[name] = e
    return answers


def _proven_upstream(f, name, user, batches, wrong_upstream, time_limit_s) -> str | None:
    """The nearest wrong upstream formula whose true value makes ``f`` right, or None."""
    truths = [b.truth[name] for b in batches]
    if all(
        u.shape == t.shape and rel_error(u, t) <= tolerance(user)
        for u, t in zip(user, truths, strict=True)
    ):
        return None  # right as it is
    for up in reversed(list(wrong_upstream)):
        if right_with_true_upstream(
            f, name, wrong_upstream[up], up, batches, tolerance(user), rel_error, time_limit_s
        ):
            return up
    return None


def _inherit(verdict: Verdict, up: Verdict, root: Verdict) -> None:
    """A formula right given the learner's own wrong upstream ``up``: name ``up``, and give
    the cause and fix at ``root``, the first wrong residual of the chain."""
    verdict.mistake = root.mistake
    cause = root.explanation if root.mistake is not None else "no known mistake matches there"
    verdict.explanation = (
        f"inherits the error of {up.symbol} (re-run with the true {up.symbol}, it is right); "
        f"the first wrong one is {root.symbol}: {cause}"
    )
    verdict.fix = f"fix {root.symbol}" + (f": {root.fix}" if root.fix else "")


def _evaluate(f: Callable, batches: list, name: str, time_limit_s: float) -> list[np.ndarray]:
    out = []
    for b in batches:
        try:
            arr = call_formula(f, b.q, time_limit_s=time_limit_s)
        except NotWritten:
            raise
        except FormulaError as e:
            raise FormulaError(f"grad_{name}(q) {e}") from None
        want = b.truth[name].shape
        if arr.shape != want and not (arr.shape == want[::-1] and len(want) == 2):
            if _reduced_wrongly(name, arr, b) is not None:
                out.append(arr)
                continue
            hint = ""
            if len(want) == 1 and arr.ndim == 2 and arr.shape[1:] == want:
                hint = "; a bias gradient sums over the rows of the batch: .sum(axis=0)"
            elif arr.size == np.prod(want) and arr.ndim != len(want):
                hint = "; reshape it"
            raise FormulaError(
                f"grad_{name}(q) returned shape {arr.shape}, expected {want} (m={b.m}){hint}"
            )
        out.append(arr)
    return out


def _compare(
    doctor: Doctor,
    name: str,
    symbol: str,
    user: list[np.ndarray],
    batches: list,
    heir_of: str | None = None,
) -> Verdict:
    truths = [b.truth[name] for b in batches]
    if any(u.shape != t.shape for u, t in zip(user, truths, strict=True)):
        symbols = dict(doctor.quantities())
        misreduced = _misreduced(name, symbol, user, batches, symbols)
        return misreduced or _transposed(name, symbol, user, truths, batches)
    errs = [rel_error(u, t) for u, t in zip(user, truths, strict=True)]
    by_m = {str(b.m): e for b, e in zip(batches, errs, strict=True)}
    worst = max(errs)
    if worst <= tolerance(user):
        return Verdict(name, symbol, "ok", worst, rel_error_by_m=by_m)
    if heir_of is not None:
        d = Diagnosis(None, "", inherits=heir_of)
    else:
        d = doctor.diagnose(name, user, batches)
        if d.mistake == "extra_1_over_m":
            d = _mean_for_sum(d, name, batches, dict(doctor.quantities()))
    big = max(range(len(batches)), key=lambda i: (batches[i].m, -i))
    diff = np.abs(user[big] - truths[big])
    scale = max(float(np.abs(truths[big]).max(initial=0.0)), 1e-300)
    return Verdict(
        name,
        symbol,
        "wrong",
        worst,
        worst_entries=_worst_entries(diff, tolerance(user) * scale),
        mistake=d.mistake,
        explanation=d.explanation or NO_MATCH,
        fix=d.fix,
        inherits=d.inherits,
        rel_error_by_m=by_m,
        heatmap=diff / scale,
    )


REDUCTIONS = (("sum", np.sum), ("mean", np.mean))


def _row_sums(name: str, batch) -> list[str]:
    """The quantities G of shape (m, d) whose true ∂L/∂G summed over the rows (axis 0)
    is the truth of ``name`` (``name`` is then a bias of G's step)."""
    truth = batch.truth[name]
    return [
        g_name
        for g_name, g in batch.truth.items()
        if g_name != name
        and np.ndim(g) == 2
        and g.shape[0] == batch.m
        and g.shape[1:] == truth.shape
        and rel_error(g.sum(axis=0), truth) <= RTOL64
    ]


def _reduced_wrongly(name: str, arr: np.ndarray, batch) -> tuple[str, str] | None:
    """(id, text) when ``arr`` is a wrong reduction of the true ∂L/∂G of a quantity G of
    `_row_sums`: its sum or mean over axis 1, or over both axes."""
    for g_name in _row_sums(name, batch):
        g = batch.truth[g_name]
        for op, fn in REDUCTIONS:
            for axis, where in ((1, "axis 1 (the features)"), (None, "both axes")):
                got = fn(g, axis=axis)
                scale = tolerance([arr]) * float(np.abs(g).max(initial=0.0))
                if np.shape(got) == arr.shape and np.abs(arr - got).max(initial=0.0) <= scale:
                    tag = "axis_1" if axis == 1 else "all"
                    return f"{op}_over_{tag}", f"the {op} of {{{g_name}}} over {where}"
    return None


def _mean_for_sum(d: Diagnosis, name: str, batches, symbols: dict[str, str]) -> Diagnosis:
    """A bias whose result is 1/m of the truth is exactly the mean over the batch rows of
    the true ∂L/∂G where their sum belongs: say so, with the axis."""
    sources = set.intersection(*(set(_row_sums(name, b)) for b in batches))
    if not sources:
        return d
    g = symbols.get(min(sources), min(sources))
    return Diagnosis(
        d.mistake,
        f"{d.explanation}: exactly the mean over axis 0 (the batch rows) of {g}, where "
        "their sum belongs",
        f"{symbols.get(name, name)} = Σ_i over the rows: .sum(axis=0), not .mean(axis=0)",
    )


def _misreduced(name, symbol, user, batches, symbols: dict[str, str]) -> Verdict | None:
    """A bias gradient reduced over the wrong axis on every batch, or None."""
    found = {_reduced_wrongly(name, u, b) for u, b in zip(user, batches, strict=True)}
    if len(found) != 1 or None in found:
        return None
    ((mid, text),) = found
    text = text.format(**symbols)
    return Verdict(
        name,
        symbol,
        "wrong",
        None,
        mistake=mid,
        explanation=f"{text}, shape {user[-1].shape}, where the sum over axis 0 (the batch "
        f"rows) belongs: {symbol} has shape {batches[-1].truth[name].shape}",
        fix=f"{symbol} = Σ_i over the rows: .sum(axis=0)",
    )


def _transposed(name, symbol, user, truths, batches) -> Verdict:
    """A 2-D formula returned with its axes swapped: 'transpose' if its transpose is right."""
    errs = [rel_error(u.T, t) for u, t in zip(user, truths, strict=True)]
    want = truths[0].shape
    if max(errs) <= tolerance(user):
        return Verdict(
            name,
            symbol,
            "wrong",
            None,
            mistake="transpose",
            explanation=f"the transpose of the gradient: shape {user[0].shape}, expected {want}",
            fix=TRANSPOSE_FIX,
        )
    raise_msg = f"returned shape {user[0].shape}, expected {want}"
    return Verdict(name, symbol, "error", error=f"grad_{name}(q) {raise_msg}")


def _worst_entries(diff: np.ndarray, atol: float, k: int = 5) -> list[list[int]]:
    """Indices of up to k largest entries of ``diff`` above ``atol``, largest first."""
    flat = diff.ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    return [[int(i) for i in np.unravel_index(j, diff.shape)] for j in order if flat[j] > atol]
