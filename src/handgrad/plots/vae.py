"""Figures of a VAE run: data against samples, the latent space, loss curves, image grids."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from handgrad.plots.common import new_figure, save_figure

_POINT = {"s": 3, "alpha": 0.35, "linewidths": 0}


def _ellipse(mean: np.ndarray, cov: np.ndarray, k: float = 2.0) -> np.ndarray:
    """Points (200, 2) of the k-σ contour {x : (x − m)ᵀ Σ⁻¹ (x − m) = k²}."""
    t = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    return mean + k * circle @ np.linalg.cholesky(cov).T


def samples_vs_data(
    data: np.ndarray,
    noisy: np.ndarray,
    means: np.ndarray,
    path: str | Path,
    *,
    components: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    title: str = "",
) -> Path:
    """Three square panels on the same axes: training data, samples with decoder noise,
    and decoder means (samples without noise).

    Shapes: data, noisy, means (n, 2). The 2σ ellipse of each Gaussian component of
    the true distribution, ``components`` as (mean (2,), cov (2, 2)) pairs, is drawn
    on every panel, so a mismatch shows at a glance. The axes are equal and square,
    centred on the data, so shapes are not distorted.
    """
    fig, axes = new_figure(1, 3, figsize=(13, 5.0), sharex=True, sharey=True)
    centre = np.median(data, axis=0)
    half = 1.1 * float(np.quantile(np.abs(data - centre), 0.999))
    panels = [
        (data, "training data", "tab:gray"),
        (noisy, "samples with decoder noise: μ_x(z) + σ_x(z) ε", "tab:blue"),
        (means, "samples without decoder noise: μ_x(z)", "tab:orange"),
    ]
    for ax, (pts, label, colour) in zip(axes, panels, strict=True):
        ax.scatter(pts[:, 0], pts[:, 1], color=colour, **_POINT)
        for i, (mean, cov) in enumerate(components):
            e = _ellipse(mean, cov)
            ax.plot(e[:, 0], e[:, 1], color="black", lw=0.8, label="truth, 2σ" if i == 0 else None)
        if len(components):
            ax.legend(loc="upper left", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("x₁")
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] - half, centre[1] + half)
        ax.set_aspect("equal", adjustable="box")
    axes[0].set_ylabel("x₂")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def latent_scatter(
    z: np.ndarray,
    path: str | Path,
    *,
    colour: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    colour_label: str = "",
    title: str = "",
) -> Path:
    """Encoded points μ_z (n, K) in the plane of z₁, z₂ (a histogram of z₁ if K = 1).

    Colour by integer ``labels`` (n,) named by ``classes`` (digits), or by a continuous
    ``colour`` (n,) (e.g. the angle of the data point), with the N(0, I) prior's 2σ
    circle for scale.
    """
    fig, ax = new_figure(figsize=(6, 5.4))
    k = z.shape[1]
    if k == 1:
        ax.hist(z[:, 0], bins=80, color="tab:blue", alpha=0.8)
        ax.set_xlabel("μ_z (latent dimension 1 of 1)")
    else:
        if labels is not None:
            sc = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=3, alpha=0.6)
            names = classes if classes is not None else [str(i) for i in np.unique(labels)]
            handles = [
                ax.scatter([], [], color=sc.cmap(sc.norm(i)), s=20, label=str(n))
                for i, n in enumerate(names)
            ]
            ax.legend(handles=handles, fontsize=7, markerscale=1, loc="best")
        else:
            sc = ax.scatter(z[:, 0], z[:, 1], c=colour, cmap="twilight", s=3, alpha=0.6)
            if colour is not None:
                fig.colorbar(sc, ax=ax, label=colour_label)
        e = _ellipse(np.zeros(2), np.eye(2))
        ax.plot(e[:, 0], e[:, 1], color="black", lw=1, ls="--", label="prior 2σ")
        ax.set_xlabel(f"z₁ (of {k})")
        ax.set_ylabel(f"z₂ (of {k})")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title or "latent space: μ_z of the test points", fontsize=10)
    return save_figure(fig, path)


def loss_curves(metrics: Sequence[dict], path: str | Path, *, entropy: float | None = None) -> Path:
    """Per-epoch train/test −ELBO, reconstruction NLL and KL (three panels); a run
    trained on the IWAE bound has its training −L_k in the first panel instead.

    ``entropy``: the true distribution's entropy, drawn as the floor of the −ELBO panel.
    """
    epochs = [r["epoch"] for r in metrics]
    fig, axes = new_figure(1, 3, figsize=(13, 3.8))
    for ax, key, name in zip(
        axes, ("neg_elbo", "rec", "kl"), ("−ELBO", "reconstruction NLL", "KL(q ‖ p)"), strict=True
    ):
        for split, style in (("train", "-"), ("test", "--")):
            if f"{split}_{key}" in metrics[0]:
                ax.plot(epochs, [r[f"{split}_{key}"] for r in metrics], style, label=split)
        ax.set_title(f"{name} (nats per example)", fontsize=10)
        ax.set_xlabel("epoch")
    if "train_neg_iwae" in metrics[0]:
        axes[0].plot(epochs, [r["train_neg_iwae"] for r in metrics], "-", label="train −L_k")
    if entropy is not None:
        axes[0].axhline(entropy, color="black", lw=1, ls=":", label=f"entropy {entropy:.3f}")
    for ax in axes:
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def image_grid(
    images: np.ndarray,
    image_shape: tuple[int, int],
    path: str | Path,
    *,
    ncols: int = 10,
    title: str = "",
) -> Path:
    """Images (n, H·W) in [0, 1] tiled row by row, ``ncols`` per row."""
    n = images.shape[0]
    nrows = -(-n // ncols)
    h, w = image_shape
    canvas = np.full((nrows * (h + 2), ncols * (w + 2)), 0.2, dtype=np.float32)  # grey frame
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = (
            images[i].reshape(h, w)
        )
    fig, ax = new_figure(figsize=(ncols * 0.6 + 0.4, nrows * 0.6 + 0.6))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def reconstructions(
    originals: np.ndarray,
    recon: np.ndarray,
    image_shape: tuple[int, int],
    path: str | Path,
    *,
    ncols: int = 10,
) -> Path:
    """Pairs of rows: ``ncols`` originals (n, H·W), then their reconstructions below them."""
    rows = []
    for start in range(0, originals.shape[0], ncols):
        rows += [originals[start : start + ncols], recon[start : start + ncols]]
    return image_grid(
        np.concatenate(rows),
        image_shape,
        path,
        ncols=ncols,
        title="test images (odd rows) and reconstructions at z = μ_z (even rows)",
    )
