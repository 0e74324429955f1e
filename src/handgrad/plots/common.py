"""Shared figure style and saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from handgrad.io import atomic_write

STYLE = {
    "figure.dpi": 110,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 10,
}


def new_figure(*args, **kwargs):
    """``plt.subplots`` under the handgrad style; returns (fig, axes)."""
    with plt.rc_context(STYLE):
        return plt.subplots(*args, **kwargs)


def save_figure(fig, path: str | Path) -> Path:
    """Write ``fig`` as PNG atomically and close it; returns the path."""
    path = Path(path)
    fig.tight_layout()
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return path
