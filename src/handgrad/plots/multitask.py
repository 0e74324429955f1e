"""Figures of a multi-task training run: task-A MSE, task-B cross-entropy and accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handgrad.errors import HandgradError
from handgrad.plots.common import new_figure, save_figure

PANELS = (
    ("mse_a", "task A: mean squared error"),
    ("ce_b", "task B: cross-entropy"),
    ("acc_b", "task B: accuracy"),
)


def plot_curves(metrics: list[dict[str, Any]], path: str | Path) -> Path:
    """Three panels (train and test per epoch) from the rows of ``metrics.jsonl``; a PNG."""
    if not metrics:
        raise HandgradError("no metrics to plot; the run has not finished an epoch")
    epochs = [row["epoch"] for row in metrics]
    fig, axes = new_figure(1, len(PANELS), figsize=(12, 3.4))
    for ax, (key, title) in zip(axes, PANELS, strict=True):
        for split, style in (("train", "-"), ("test", "--")):
            ax.plot(epochs, [row[f"{split}_{key}"] for row in metrics], style, label=split)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if key != "acc_b":
            ax.set_yscale("log")
        ax.legend()
    return save_figure(fig, path)
