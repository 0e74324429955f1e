"""Sweeps: one command over many settings and seeds, locally or on a Ray cluster.

``handgrad sweep SPEC.toml`` reads a spec (`handgrad.sweep.spec`, format in its
docstring), expands it into trials (`handgrad.sweep.trials`), runs the unfinished ones
on a backend (`handgrad.sweep.backends`) and gathers tables and a plot
(`handgrad.sweep.collect`); `handgrad.sweep.driver.run_sweep` ties these together.
"""

from handgrad.sweep.driver import SweepInterrupted, SweepOutcome, run_sweep
from handgrad.sweep.spec import SweepSpec, load_spec, parse_spec
from handgrad.sweep.trials import Trial, TrialResult, expand

__all__ = [
    "SweepInterrupted",
    "SweepOutcome",
    "SweepSpec",
    "Trial",
    "TrialResult",
    "expand",
    "load_spec",
    "parse_spec",
    "run_sweep",
]
