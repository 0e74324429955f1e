"""The class report's three charts (PNG, via `handgrad.plots.common`).

score_distribution   histogram of the scores in % of the maximum; submissions that
                     could not be graded drawn apart, in red
formulas_missed      per formula, the share of the class that did not get it right,
                     split by why (wrong, error, not given, not graded)
common_mistakes      per named mistake, the share of the checked submissions making it
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from handgrad.checks.grade.scoring import FAILED, GRADED
from handgrad.checks.grade.summary import ClassSummary
from handgrad.plots.common import new_figure, save_figure

STATE_COLORS = {
    "wrong": ("#d1495b", "wrong"),
    "error": ("#edae49", "error"),
    "not_given": ("#8d99ae", "not given"),
    FAILED: ("#3d405b", "not graded"),
}
MAX_BARS = 15


def score_distribution(summary: ClassSummary, path: Path) -> Path:
    """Histogram of the scores (% of the maximum), graded and ungraded submissions apart."""
    fig, ax = new_figure(figsize=(6.4, 3.2))
    bins = np.linspace(0, 100, 11)
    for status, color, label in ((GRADED, "#2456a6", "graded"), (FAILED, "#b42318", "not graded")):
        scores = [
            100 * g.total / g.max_score if g.max_score else 0.0
            for g in summary.grades
            if g.status == status
        ]
        if scores:
            ax.hist(np.clip(scores, 0, 100), bins=bins, color=color, label=label, alpha=0.85)
    ax.set_xlabel("score (% of the maximum)")
    ax.set_ylabel("submissions")
    ax.set_xlim(0, 100)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    return save_figure(fig, path)


def formulas_missed(summary: ClassSummary, path: Path) -> Path:
    """Stacked bars: per formula, the % of the class not getting it right, and why."""
    rows = summary.formula_counts[:MAX_BARS][::-1]
    fig, ax = new_figure(figsize=(6.4, 1.4 + 0.32 * len(rows)))
    total = max(len(summary.grades), 1)
    left = np.zeros(len(rows))
    labels = [f"{c.symbol} ({c.name})" if c.symbol != c.name else c.name for c in rows]
    for state, (color, label) in STATE_COLORS.items():
        share = np.array([100 * c.counts[state] / total for c in rows])
        ax.barh(labels, share, left=left, color=color, label=label)
        left += share
    ax.set_xlabel("% of the class not getting it right")
    ax.set_xlim(0, 100)
    ax.legend(frameon=False, ncols=4, loc="lower left", bbox_to_anchor=(0, 1), fontsize=9)
    return save_figure(fig, path)


def common_mistakes(summary: ClassSummary, path: Path) -> Path:
    """Bars: per named mistake, the % of the checked submissions making it."""
    rows = summary.mistakes[:MAX_BARS][::-1]
    fig, ax = new_figure(figsize=(6.4, 1.2 + 0.32 * len(rows)))
    ax.barh([c.mistake for c in rows], [100 * c.fraction for c in rows], color="#d1495b")
    for i, c in enumerate(rows):
        ax.annotate(f" {100 * c.fraction:.0f} %", (100 * c.fraction, i), va="center", fontsize=9)
    ax.set_xlabel(f"% of the {summary.checked} checked submissions making the mistake")
    ax.set_xlim(0, 110)
    return save_figure(fig, path)
