"""What a part of ``handgrad reproduce`` is, the verdicts parts share, and what a
section of the report is.

A `Part` runs into its own directory and returns a verdict: (passed, message, data),
where the message quotes the numbers the verdict rests on and ``data`` goes into the
part's `handgrad.reproduce.results.PartResult` for the report. The gradient checks'
parts are in `handgrad.reproduce.checks`; each experiment lists its own parts
(`handgrad.training.experiment.Experiment.reproduce_parts`) for a scale: "full" (the
assignment's settings), "quick" (a reduced version, about a minute in all) or "smoke"
(the smallest that still runs end to end, for tests). Whoever declares parts also
writes their `Section` of the report (`Experiment.report`).

This module sits below both the experiment interface (`handgrad.training.experiment`)
and ``handgrad.reproduce``: it imports neither, nor the report nor any experiment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.training.run_options import RunOptions
from handgrad.training.runs import read_metrics

SCALES = ("full", "quick", "smoke")

Log = Callable[[str], None]
Verdict = tuple[bool, str, dict[str, Any]]


@dataclass
class Context:
    """What every part may use: the output folder, where MNIST is, how to log."""

    out: Path
    data_dir: str | Path | None
    download: bool
    progress: bool
    log: Log
    mnist_problem: str | None = None  # why MNIST is unavailable; None when it is there

    def run_options(self) -> RunOptions:
        """How a part trains: replacing any earlier run in its directory, logging here."""
        return RunOptions(
            data_dir=self.data_dir, progress=self.progress, overwrite=True, log=self.log
        )


@dataclass(frozen=True)
class Part:
    """One part: ``run(ctx, directory)`` does the work and returns its `Verdict`.

    ``key`` names its directory and its entry in reproduce.json; ``section`` is the
    report's (e.g. "1.1"); ``criterion`` says in words what passing means;
    ``needs_mnist`` parts are skipped, with the fix, when MNIST is unavailable.
    """

    key: str
    section: str
    title: str
    criterion: str
    run: Callable[[Context, Path], Verdict]
    needs_mnist: bool = False


def bound(value: float, limit: float, *, at_least: bool) -> tuple[bool, str]:
    """Is ``value`` finite and ≥ ``limit`` (``at_least``) or ≤ it? With the relation that
    holds, in words ("≥", "<", "≤", ">") for the verdict's message."""
    finite = bool(np.isfinite(value))
    if at_least:
        ok = finite and value >= limit
        return ok, "≥" if ok else "<"
    ok = finite and value <= limit
    return ok, "≤" if ok else ">"


def fell(directory: Path, metric: str, what: str, unit: str = "") -> tuple[bool, str]:
    """Did ``metric`` of the run in ``directory`` fall from its first epoch to its last?
    (For runs too short to reach a real bar.) ``what`` and ``unit`` name it in the message."""
    rows = read_metrics(directory)
    if len(rows) < 2:
        return False, f"one epoch cannot show the {what} falling; train for 2 or more"
    first, last = rows[0][metric], rows[-1][metric]
    ok = bool(np.isfinite(last)) and last < first
    return ok, f"{what} {first:.3f} → {last:.3f}{unit} over {len(rows)} epochs"


@dataclass(frozen=True)
class Section:
    """The report's section(s) on some parts, written by whoever declares those parts.

    ``number`` (e.g. "1.1") places it: `handgrad.report.build.build_document` shows the
    sections in the order of their numbers (ties keep the gradient checks first, then
    the registry's order) under the heading of their chapter (the number's first
    field). ``write(report)`` is given the report being built (a
    `handgrad.report.sections.Sections`: the reproduction's part results, their runs'
    files and the shared layout) and adds its headings, tables and figures to it; it
    returns nothing. Parts that no section asks for are shown generically at the end.
    """

    number: str
    write: Callable[[Any], None]

    def key(self) -> tuple[int, ...]:
        """The number as integers, for sorting ("1.10" after "1.9")."""
        return tuple(int(n) for n in self.number.split("."))
