"""Naming the mistake in a wrong formula: exact matches only, unique or said to be ambiguous.

For a wrong quantity Q (one that does not only inherit an upstream error: `judge` proves
that first, see `inherit`), `GraphDoctor.diagnose` tries, in this order:

1. zero to the float tolerance on every batch → mistake "zero" (a batch-centred sum,
   Σ_i (g_i − ḡ) = 0, is the usual cause; a zero candidate is never matched by name);
   a square gradient transposed → "transpose";
2. each single catalogued mistake (`mistakes.catalogue`), then each pair of mistakes at
   different places. A candidate matches when it equals the formula, to the float
   tolerance, on every batch (several m, 1 included): the batches are what tell the
   candidates apart (at m = 1 every batch-coupling candidate coincides, so one batch
   would not do). The first size with a match decides. A lost ½ that explains a bare
   "factor 2" (the Gaussian NLL's ½ in ∂L/∂x̂v) stands for it; any other coincidence
   (with p = 0.5 an unscaled dropout mask is exactly a factor ½) is not resolved by
   guessing: matches with different ids are reported "ambiguous" (mistake None), but
   for two rules: a lost ½ also stands for its term counted twice, and an op's
   catalogued slip stands for a generic neighbour substitution with the same values
   (said beside it: "exactly the same values as …");
3. the whole-result families of `families`, tier by tier: the gradient of a neighbouring
   quantity, the truth times a closed-form factor, then times a rational or constant.

Nothing matching exactly is said plainly: mistake None, "no known mistake matches".
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np

from handgrad.checks.doctor import families
from handgrad.checks.doctor.graph import Batch, Problem
from handgrad.checks.doctor.judge import Diagnosis, rel_error, tolerance
from handgrad.checks.doctor.mistakes import Backprop, Mistake, catalogue
from handgrad.checks.doctor.verdict import NO_MATCH


class GraphDoctor:
    """Names mistakes for one `Problem` on a fixed list of batches."""

    def __init__(self, problem: Problem, batches: list[Batch]):
        self.problem = problem
        self.name = problem.name
        self.batches = batches
        self.backprops = [Backprop(problem, b) for b in batches]
        # the largest batch first: it rejects most candidates at once
        self.order = sorted(range(len(batches)), key=lambda i: -batches[i].m)
        self._runs: dict[tuple, dict[str, np.ndarray]] = {}

    def quantities(self) -> list[tuple[str, str]]:
        return [(q, self.problem.grad_symbol(q)) for q in self.problem.quantities]

    @cached_property
    def catalogue(self) -> list[Mistake]:
        return catalogue(self.problem, self.batches)

    # --- candidate values ------------------------------------------------------------------
    def _grads(self, bi: int, mistakes: tuple[Mistake, ...]) -> dict[str, np.ndarray]:
        key = (bi, tuple(sorted(id(mk) for mk in mistakes if mk.kind != "output")))
        if key not in self._runs:
            self._runs[key] = self.backprops[bi].run(mistakes)
        return self._runs[key]

    def candidate(self, name: str, bi: int, mistakes: tuple[Mistake, ...] = ()) -> np.ndarray:
        """The gradient of ``name`` on batch ``bi`` with ``mistakes`` made."""
        if name in self.problem.jacobians:
            value = self._jacobian(name, bi, mistakes)
        else:
            value = self._grads(bi, mistakes).get(name)
            if value is None:  # every path to it was dropped
                value = np.zeros_like(self.batches[bi].truth[name])
        for mk in mistakes:
            if mk.kind == "output":
                value = mk.factor(self.batches[bi].m) * value
        return np.asarray(value, dtype=np.float64)

    def _jacobian(self, name: str, bi: int, mistakes) -> np.ndarray:
        out, inp = self.problem.jacobians[name]
        y = self.batches[bi].values[out]
        cols = []
        for i in range(y.shape[1]):
            e = np.zeros_like(y)
            e[:, i] = 1.0
            col = self.backprops[bi].run(mistakes, start={out: e}).get(inp)
            cols.append(np.zeros_like(self.batches[bi].values[inp]) if col is None else col)
        return np.stack(cols, axis=1)

    def _matches(self, user, name, mistakes, tol) -> bool:
        return all(
            rel_error(user[bi], self.candidate(name, bi, mistakes)) <= tol for bi in self.order
        )

    # --- the diagnosis ---------------------------------------------------------------------
    def diagnose(self, name, user, batches) -> Diagnosis:
        tol = tolerance(user)
        if all(
            np.abs(u).max(initial=0.0) <= tol * np.abs(b.truth[name]).max(initial=0.0)
            for u, b in zip(user, self.batches, strict=True)
        ):
            return Diagnosis(
                "zero",
                f"{self.problem.grad_symbol(name)} came out 0 on every batch, but it is not 0",
                "a sum over the batch of a batch-centred quantity, Σ_i (g_i − ḡ), is always 0: "
                "subtract the batch mean only where the forward pass does",
            )
        transposed = self._whole(families.transposed(self.problem, self.batches, name), user, tol)
        if transposed is not None:
            return transposed
        relevant = [  # the mistakes that change this quantity on some batch
            mk
            for mk in self.catalogue
            if any(
                rel_error(self.candidate(name, bi, (mk,)), self.batches[bi].truth[name]) > tol
                for bi in self.order
            )
        ]
        singles = [(mk,) for mk in relevant if self._matches(user, name, (mk,), tol)]
        if singles:
            return self._verdict(singles)
        pairs = [
            (a, b)
            for a, b in itertools.combinations(relevant, 2)
            if a.location != b.location and self._matches(user, name, (a, b), tol)
        ]
        if pairs:
            return self._verdict(pairs)
        for tier in (
            lambda: families.neighbour_gradients(self.problem, self.batches, name, self._true),
            lambda: families.closed_form_factors(self.problem, self.batches, name),
            lambda: families.constant_factors(self.problem, self.batches, name, user, tol),
        ):
            found = self._whole(tier(), user, tol)
            if found is not None:
                return found
        return Diagnosis(None, NO_MATCH)

    def _true(self, bi: int) -> dict[str, np.ndarray]:
        """∂L/∂node of every node on batch ``bi`` (the candidates' true local derivatives)."""
        return self._grads(bi, ())

    def _whole(self, candidates: list[families.Whole], user, tol) -> Diagnosis | None:
        """The one id among whole-result candidates that equals ``user`` on every batch;
        several ids: ambiguous; none: None."""
        hits: dict[str, families.Whole] = {}
        for c in candidates:
            if c.id in hits:
                continue
            with np.errstate(all="ignore"):
                ok = all(
                    np.shape(c.value(bi)) == np.shape(user[bi])
                    and rel_error(user[bi], c.value(bi)) <= tol
                    for bi in self.order
                )
            if ok:
                hits[c.id] = c
        if not hits:
            return None
        if len(hits) > 1:
            listed = "; or ".join(c.explanation for c in hits.values())
            return Diagnosis(
                None, f"ambiguous: {len(hits)} known mistakes give exactly these values: {listed}"
            )
        (c,) = hits.values()
        return Diagnosis(c.id, c.explanation, c.fix)

    def _verdict(self, found: list[tuple[Mistake, ...]]) -> Diagnosis:
        explained = {  # the factors that a matching lost-½ slip explains
            mk.variant.factor
            for c in found
            for mk in c
            if mk.variant is not None and mk.variant.factor is not None
        }
        halved = {  # where a lost ½ was found: that term counted twice is the same slip
            mk.location
            for c in found
            for mk in c
            if mk.variant is not None and mk.variant.factor == 2.0
        }
        found = [
            c
            for c in found
            if not all(
                (mk.kind == "output" and mk.factor(1) in explained)
                or (mk.kind == "term" and mk.factor(1) == 2.0 and mk.location in halved)
                for mk in c
            )
        ]
        by_id: dict[str, list[tuple[Mistake, ...]]] = {}
        for combo in found:
            by_id.setdefault("+".join(sorted(mk.id for mk in combo)), []).append(combo)
        same_as = ""
        if len(by_id) > 1 and len(found[0]) == 1:
            # an op's catalogued slip and a generic neighbour substitution with exactly
            # the same values: the op's slip is named, the substitution said beside it
            slips = {k: v for k, v in by_id.items() if v[0][0].kind == "variant"}
            points = {k: v for k, v in by_id.items() if v[0][0].kind == "point"}
            if len(slips) == 1 and len(slips) + len(points) == len(by_id):
                same_as = (
                    " (exactly the same values as: "
                    + "; ".join(_text(v[0])[0] for v in points.values())
                    + ")"
                )
                by_id = slips
        if len(by_id) > 1:
            listed = "; or ".join(_text(combos[0])[0] for combos in by_id.values())
            return Diagnosis(
                None,
                f"ambiguous: {len(by_id)} known mistakes give exactly these values: {listed}",
            )
        ((mid, combos),) = by_id.items()
        texts = list(dict.fromkeys(_text(c) for c in combos))  # one id at several places
        return Diagnosis(
            mid,
            " — or — ".join(t[0] for t in texts) + same_as,
            " — or — ".join(t[1] for t in texts),
        )


def _text(combo: tuple[Mistake, ...]) -> tuple[str, str]:
    """(explanation, fix) of one or two mistakes made together."""
    combo = tuple(sorted(combo, key=lambda mk: mk.id))
    return "; and ".join(mk.explanation for mk in combo), "; ".join(mk.fix for mk in combo)
