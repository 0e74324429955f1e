"""The multi-task network's eight parameter formulas, judged with `checks.formulas`' catalogue.

A bridge: `MultitaskDoctor` exposes the eight-parameter checker of `checks.formulas`
through the `judge.Doctor` interface (batches from `sample_problem`, truth from the
network's backward, mistakes from `MISTAKES`), so the robust judge and the JSON output
work on it.
"""

from __future__ import annotations

import itertools
import types
from dataclasses import dataclass

import numpy as np

from handgrad.checks import formulas as old
from handgrad.checks.doctor.judge import Diagnosis, rel_error, tolerance
from handgrad.checks.doctor.verdict import NO_MATCH
from handgrad.checks.network import sample_problem
from handgrad.models.multitask import PARAM_NAMES

SYMBOLS = {
    "theta1A": "∂L/∂θ₁A",
    "b1A": "∂L/∂b₁A",
    "theta2A": "∂L/∂θ₂A",
    "b2A": "∂L/∂b₂A",
    "theta1B": "∂L/∂θ₁B",
    "b1B": "∂L/∂b₁B",
    "theta2B": "∂L/∂θ₂B",
    "b2B": "∂L/∂b₂B",
}
BACKWARD_ORDER = ("b2B", "theta2B", "b1B", "theta1B", "b2A", "theta2A", "b1A", "theta1A")
FACTORS = {
    "sign": (lambda m: -1.0, "the sign is flipped", "use (ŷ − y), not (y − ŷ)"),
    "no_1_over_m": (lambda m: float(m), "a factor m too large", "divide by the batch size m"),
    "extra_1_over_m": (lambda m: 1.0 / m, "an extra 1/m", "the batch mean is taken once"),
}


@dataclass
class Batch:
    m: int
    q: types.SimpleNamespace
    truth: dict[str, np.ndarray]


class MultitaskDoctor:
    name = "multitask"

    def quantities(self):
        return [(n, SYMBOLS[n]) for n in BACKWARD_ORDER]

    def batches(self, batch_sizes=old.DEFAULT_BATCHES, seed: int = 0) -> list[Batch]:
        dims, out = old.DEFAULT_DIMS, []
        for i, m in enumerate(batch_sizes):
            problem = sample_problem(
                m, dims["n"], dims["h"], dims["a"], dims["b"], old.DEFAULT_P, seed + i
            )
            out.append(Batch(m, old.quantities(problem), old.true_gradients(problem)))
        return out

    def diagnose(self, name, user, batches, wrong_upstream) -> Diagnosis:
        tol = tolerance(user)
        relevant = [k for k, mk in old.MISTAKES.items() if name in mk.affects]
        for size in (1, 2):
            for combo in itertools.combinations(relevant, size):
                chosen = frozenset(combo)
                if all(
                    rel_error(u, old.derived_gradients(b.q, chosen)[name]) <= tol
                    for u, b in zip(user, batches, strict=True)
                ):
                    return Diagnosis(
                        "+".join(sorted(combo)),
                        "; and ".join(old.MISTAKES[k].explanation for k in combo),
                    )
        for key, (factor, text, fix) in FACTORS.items():
            if all(
                rel_error(u, factor(b.m) * b.truth[name]) <= tol
                for u, b in zip(user, batches, strict=True)
            ) and any(np.abs(b.truth[name]).max() > 0 for b in batches):
                return Diagnosis(key, text, fix)
        return Diagnosis(None, NO_MATCH)


assert set(BACKWARD_ORDER) == set(PARAM_NAMES)
