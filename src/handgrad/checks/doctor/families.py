"""Mistakes named from the whole result: the truth transposed, the gradient of a neighbouring
quantity, or the truth times a factor said in closed form.

These families need no place in the backward pass: each proposes, for a wrong quantity Q
on batch ``bi``, a candidate array built from the true gradients and the forward values,
and `GraphDoctor` names one only when it equals the learner's result to the float
tolerance on every batch (several m). Families, in the order they are tried (a tier
names a mistake only when exactly one id of it matches; two ids that fit equally are
"ambiguous"):

1. ``transpose``: a square 2-D gradient returned with its axes swapped (a non-square
   one is caught by its shape before any diagnosis);
2. ``grad_<other>_for_<Q>``: ∂L/∂other given for ∂L/∂Q, other a node of the same shape
   (∂L/∂z for ∂L/∂ŷ, pre- for post-activation, one layer off);
3. ``factor:<form>``: the truth times a closed form ± c, c one of: a function of m
   (m − 1, (m − 1)/m, m², …), of a problem constant (p, 1 − p, 1/p, 1/(1 − p)), or of a
   forward value per feature or per entry (γ, σ, 1/σ², 1 − p, p(1 − p), …), with
   v ∈ q: v, 1/v, v², 1/v², 1 − v, v(1 − v);
4. ``factor:<a/b>``: the truth times a rational number (denominator ≤ 12), then
   ``factor:constant``: the truth times one constant, the same on every entry and batch,
   with no closed form (its value is said).

Shapes: every candidate has the shape of the truth of Q on its batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from handgrad.checks.doctor.graph import Batch, Problem

TRANSPOSE_FIX = "weights are stored (out, in): write ∂L/∂zᵀ · input, not inputᵀ · ∂L/∂z"


@dataclass(frozen=True)
class Whole:
    """A candidate for the whole result: ``value(bi)`` on batch ``bi``."""

    id: str
    explanation: str
    fix: str
    value: Callable[[int], np.ndarray]


def transposed(problem: Problem, batches: list[Batch], name: str) -> list[Whole]:
    """The square gradient with its axes swapped (tier 1)."""
    if any(np.ndim(b.truth[name]) != 2 for b in batches):
        return []
    shape = np.shape(batches[0].truth[name])
    return [
        Whole(
            "transpose",
            f"the transpose of the gradient: {problem.grad_symbol(name)} is {shape} "
            "and square, so the shape cannot show it",
            TRANSPOSE_FIX,
            lambda bi: batches[bi].truth[name].T,
        )
    ]


def neighbour_gradients(
    problem: Problem, batches: list[Batch], name: str, grads: Callable[[int], dict]
) -> list[Whole]:
    """∂L/∂other for every other node of the same shape (tier 2); nodes whose gradients are
    equal on every batch form one candidate, named by the first in backward order."""
    order = list(problem.quantities) + [s.name for s in reversed(problem.steps)]
    nodes = [n for n in dict.fromkeys(order) if n != name and n != problem.loss]
    nodes = [n for n in nodes if n not in problem.jacobians]
    same = [
        n
        for n in nodes
        if all(
            n in grads(bi) and np.shape(grads(bi)[n]) == np.shape(b.truth[name])
            for bi, b in enumerate(batches)
        )
    ]
    groups: list[list[str]] = []
    for n in same:
        for g in groups:
            if all(np.array_equal(grads(bi)[n], grads(bi)[g[0]]) for bi in range(len(batches))):
                g.append(n)
                break
        else:
            groups.append([n])
    out = []
    asked = problem.grad_symbol(name)
    for g in groups:
        first = g[0]
        given = " = ".join(problem.grad_symbol(n) for n in g)
        out.append(
            Whole(
                f"grad_{first}_for_{name}",
                f"this is {given}, the gradient of a neighbouring quantity, given for {asked}",
                f"{asked}: follow the chain rule between {problem.symbol(first)} and "
                f"{problem.symbol(name)} (∂L/∂{problem.symbol(name)}, not "
                f"∂L/∂{problem.symbol(first)})",
                lambda bi, n=first: grads(bi)[n],
            )
        )
    return out


def _value_forms(v: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(id form, text form, value) of v, 1/v, v², 1/v², 1 − v, v(1 − v)."""
    with np.errstate(all="ignore"):
        forms = [
            ("{v}", "{s}", v),
            ("1/{v}", "1/{s}", 1.0 / v),
            ("{v}^2", "{s}²", v * v),
            ("1/{v}^2", "1/{s}²", 1.0 / (v * v)),
            ("(1-{v})", "(1 − {s})", 1.0 - v),
            ("{v}(1-{v})", "{s}(1 − {s})", v * (1.0 - v)),
        ]
    return [f for f in forms if np.isfinite(f[2]).all()]


M_FORMS: tuple[tuple[str, str, Callable[[int], float]], ...] = (
    ("m-1", "m − 1", lambda m: m - 1.0),
    ("(m-1)/m", "(m − 1)/m", lambda m: (m - 1.0) / m),
    ("m/(m-1)", "m/(m − 1)", lambda m: m / (m - 1.0) if m > 1 else np.inf),
    ("1/(m-1)", "1/(m − 1)", lambda m: 1.0 / (m - 1.0) if m > 1 else np.inf),
    ("m^2", "m²", lambda m: float(m * m)),
    ("1/m^2", "1/m²", lambda m: 1.0 / (m * m)),
    ("sqrt(m)", "√m", lambda m: float(np.sqrt(m))),
    ("1/sqrt(m)", "1/√m", lambda m: 1.0 / float(np.sqrt(m))),
)


def _factor(problem: Problem, name: str, form: str, text: str, where: str, value) -> Whole:
    sym = problem.grad_symbol(name)
    return Whole(
        f"factor:{form}",
        f"the result is exactly the true {sym} times {text}{where}",
        f"{sym} has no factor {text}: find where it enters and remove it",
        value,
    )


def closed_form_factors(problem: Problem, batches: list[Batch], name: str) -> list[Whole]:
    """The truth times ± a closed form of m, of a constant, or of a forward value (tier 3)."""
    out = []
    for sign, pre in ((1.0, ""), (-1.0, "-")):
        neg = "−" if sign < 0 else ""
        for form, text, f in M_FORMS:
            out.append(
                _factor(
                    problem,
                    name,
                    pre + form,
                    neg + text,
                    " (a factor that changes with the batch size m)",
                    lambda bi, f=f, s=sign: s * f(batches[bi].m) * batches[bi].truth[name],
                )
            )
        for c, cval in problem.constants.items():
            if c == "eps":
                continue
            for form, text, val in _value_forms(np.float64(cval)):
                out.append(
                    _factor(
                        problem,
                        name,
                        pre + form.format(v=c),
                        neg + text.format(s=c),
                        "",
                        lambda bi, k=float(val), s=sign: s * k * batches[bi].truth[name],
                    )
                )
        out += _forward_value_factors(problem, batches, name, sign, pre, neg)
    return out


def _forward_value_factors(problem, batches, name, sign, pre, neg) -> list[Whole]:
    """± a form of one forward value of q, per entry (same shape) or per feature (its last
    axis); the form must be finite on every batch."""
    truth0 = batches[0].truth[name]
    out = []
    for key in sorted(vars(batches[0].q)):
        if key == "m" or key in problem.constants:
            continue
        vals = [np.asarray(getattr(b.q, key)) for b in batches]
        if all(v.shape == b.truth[name].shape for v, b in zip(vals, batches, strict=True)):
            where = " (entry by entry)"
        elif truth0.ndim == 2 and all(
            v.ndim == 1 and v.shape[0] == b.truth[name].shape[-1]
            for v, b in zip(vals, batches, strict=True)
        ):
            where = " (per feature)"
        else:
            continue
        per_batch = [_value_forms(v) for v in vals]
        common = set.intersection(*({f[0] for f in forms} for forms in per_batch))
        for form, text, _ in per_batch[0]:
            if form not in common:
                continue
            tables = [dict((f[0], f[2]) for f in forms) for forms in per_batch]
            out.append(
                _factor(
                    problem,
                    name,
                    pre + form.format(v=key),
                    neg + text.format(s=problem.symbol(key)),
                    where,
                    lambda bi, t=tables, f=form, s=sign: s * t[bi][f] * batches[bi].truth[name],
                )
            )
    return out


def constant_factors(
    problem: Problem, batches: list[Batch], name: str, user: list[np.ndarray], tol: float
) -> list[Whole]:
    """The truth times one number read off the largest entry (tier 4): a rational with a
    denominator ≤ 12 if one fits to the float tolerance ``tol`` of the result (float32
    results are read to 1e-3), else the number itself."""
    big = max(range(len(batches)), key=lambda i: batches[i].m)
    truth = batches[big].truth[name]
    if not np.abs(truth).max(initial=0.0) > 0:
        return []
    at = np.unravel_index(np.argmax(np.abs(truth)), truth.shape)
    c = float(user[big][at] / truth[at])
    if not np.isfinite(c) or c == 0.0:
        return []
    frac = Fraction(c).limit_denominator(12)
    if frac not in (0, 1) and abs(float(frac) - c) <= tol * abs(c):
        form = str(frac)
        text, what = form.replace("-", "−"), ""
        k = float(frac)
    else:
        form, text, k = "constant", f"{c:.6g}", c
        what = " (a constant with no simple closed form)"
    return [_factor(problem, name, form, text, what, lambda bi: k * batches[bi].truth[name])]
