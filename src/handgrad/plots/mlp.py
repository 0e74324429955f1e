"""Figures of an MLP classification run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from handgrad.plots.common import new_figure, save_figure


def loss_curve(metrics: Sequence[dict], path: str | Path) -> Path:
    """Training loss per epoch (left axis, log scale) and held-out accuracy (right axis),
    like Figure 1.1 of the reference report."""
    epochs = [r["epoch"] for r in metrics]
    fig, ax = new_figure(figsize=(7, 4))
    ax.plot(epochs, [r["train_loss"] for r in metrics], color="tab:blue", label="train loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy)", color="tab:blue")
    acc_key = "test_acc" if "test_acc" in metrics[0] else "val_acc"
    ax2 = ax.twinx()
    ax2.grid(False)
    acc = [100 * r[acc_key] for r in metrics]
    ax2.plot(epochs, acc, color="tab:orange", label=acc_key.replace("_", " "))
    ax2.plot(
        epochs,
        [100 * r["train_acc"] for r in metrics],
        color="tab:orange",
        ls=":",
        label="train acc",
    )
    ax2.set_ylabel("accuracy (%)", color="tab:orange")
    ax2.annotate(
        f"{acc[-1]:.2f}%",
        (epochs[-1], acc[-1]),
        textcoords="offset points",
        xytext=(-10, -14),
        ha="right",
        color="tab:orange",
    )
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="center right")
    ax.set_title(f"final {acc_key.replace('_', ' ')}: {acc[-1]:.2f}%")
    return save_figure(fig, path)


def confusion_matrix(
    y: np.ndarray, pred: np.ndarray, classes: Sequence[str], path: str | Path
) -> Path:
    """Counts of (true class, predicted class), with the diagonal in the colour scale's
    shadow so the mistakes stand out."""
    k = len(classes)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y, pred), 1)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    fig, ax = new_figure(figsize=(6.2, 5.4))
    ax.grid(False)
    im = ax.imshow(off, cmap="Reds")
    fig.colorbar(im, ax=ax, fraction=0.046, label="errors")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="black" if i != j else "tab:green",
                weight="bold" if i == j else None,
            )
    ax.set_xticks(range(k), [str(c) for c in classes], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(c) for c in classes])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"confusion matrix ({int(np.trace(cm))}/{cm.sum()} correct)")
    return save_figure(fig, path)


def misclassified(
    x: np.ndarray,
    y: np.ndarray,
    pred: np.ndarray,
    classes: Sequence[str],
    image_shape: tuple[int, int],
    path: str | Path,
    n: int = 36,
) -> Path:
    """A grid of the first ``n`` misclassified test images, each captioned 'true → predicted'.

    The images are tiled into one mosaic drawn by a single ``imshow`` (one axes, not one
    per image), which keeps the figure quick to render.
    """
    wrong = np.flatnonzero(pred != y)[:n]
    cols = 6
    rows = max(1, -(-len(wrong) // cols))
    h, w = image_shape
    pad_top, pad = 9, 2  # room for the caption above each tile
    tile_h, tile_w = h + pad_top, w + pad
    mosaic = np.full((rows * tile_h, cols * tile_w), np.nan)
    fig, ax = new_figure(figsize=(cols * 1.25, rows * 1.5))
    ax.axis("off")
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        top, left = r * tile_h + pad_top, c * tile_w
        mosaic[top : top + h, left : left + w] = x[i].reshape(image_shape)
        ax.text(
            left + w / 2,
            top - 1.5,
            f"{classes[y[i]]} → {classes[pred[i]]}",
            ha="center",
            va="bottom",
            fontsize=7,
            color="tab:red",
        )
    ax.imshow(np.ma.masked_invalid(mosaic), cmap="gray_r", interpolation="nearest")
    ax.set_title(f"misclassified test images ({(pred != y).sum()} in all)")
    return save_figure(fig, path)
