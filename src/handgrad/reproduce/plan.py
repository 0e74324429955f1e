"""Which parts a reproduction runs, and at which scale.

`plan_parts(plan)` lists, in the order they run, the gradient-check parts
(`handgrad.reproduce.checks`) and then every registered experiment's own parts at the
plan's scale (`handgrad.training.experiment.Experiment.reproduce_parts`): "full" for
the assignment's settings (`full_plan`), "quick" for a reduced version of every part
(`quick_plan`, about a minute on 2 cores), "smoke" for the smallest that still runs
end to end (`smoke_plan`, seconds: for tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from handgrad.checks.formulas import DEFAULT_BATCHES
from handgrad.reproduce.checks import check_parts
from handgrad.training.parts import SCALES, Part
from handgrad.training.registry import experiments


@dataclass(frozen=True)
class Plan:
    """The scale of a reproduction ("full", "quick" or "smoke") and the settings of its
    gradient checks: tolerance, seed and the batch sizes of the formula check."""

    scale: str
    rtol: float = 1e-6
    seed: int = 0
    formula_batches: tuple[int, ...] = DEFAULT_BATCHES

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")

    @property
    def mode(self) -> str:
        """ "full", or "quick" for every reduced scale (what the report tells the reader)."""
        return "full" if self.scale == "full" else "quick"


def full_plan() -> Plan:
    """The real settings: the MLP reference run, the VAEs' defaults, all the data."""
    return Plan("full")


def quick_plan() -> Plan:
    """A reduced version of every part (subsets, a few epochs): about a minute on 2 cores."""
    return Plan("quick", formula_batches=(1, 2, 5))


def smoke_plan() -> Plan:
    """The smallest settings that still run every part end to end (seconds): for tests."""
    return Plan("smoke", formula_batches=(1, 3))


def plan_parts(plan: Plan) -> list[Part]:
    """The parts of ``plan`` in the order they run."""
    parts = check_parts(plan.rtol, plan.seed, plan.formula_batches)
    for experiment in experiments().values():
        if experiment.reproduce_parts is not None:
            parts += experiment.reproduce_parts(plan.scale)
    return parts
