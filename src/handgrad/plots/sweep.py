"""The summary figure of a sweep: the final metric per setting and curves over seeds.

Left panel (when a setting varies): the headline metric's mean over seeds against the
first varying setting, one line per combination of the others, error bars ± one std.
Then one panel per curve metric: the mean per epoch of every setting, with a band of
± one std over seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from handgrad.errors import HandgradError
from handgrad.plots.common import new_figure, save_figure

if TYPE_CHECKING:
    from handgrad.sweep.collect import SettingResult


def _number(value: Any) -> float | None:
    """The setting as a number for a numeric axis ([50] counts as 50), else None."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _label(settings: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        return (
            "x".join(map(str, v))
            if isinstance(v, list)
            else f"{v:g}"
            if isinstance(v, float)
            else str(v)
        )

    return ", ".join(f"{k} {fmt(v)}" for k, v in settings.items()) or "base"


def _percent(metric: str) -> bool:
    return metric.endswith("acc") or "_acc_" in metric


def _final_panel(ax, settings: list[SettingResult], metric: str, keys: list[str]) -> None:
    x_key, others = keys[0], keys[1:]
    xs = [_number(s.settings[x_key]) for s in settings]
    numeric = all(x is not None for x in xs)
    if not numeric:  # categorical axis, in order of first appearance
        categories = list(dict.fromkeys(_label({x_key: s.settings[x_key]}) for s in settings))
        xs = [categories.index(_label({x_key: s.settings[x_key]})) for s in settings]
        ax.set_xticks(range(len(categories)), [c.split(" ", 1)[1] for c in categories])
    scale = 100.0 if _percent(metric) else 1.0
    lines: dict[str, list[tuple[float, float, float]]] = {}
    for s, x in zip(settings, xs, strict=True):
        if metric in s.final:
            mean, std = s.final[metric]
            key = _label({k: s.settings[k] for k in others})
            lines.setdefault(key, []).append(
                (x, mean * scale, 0.0 if math.isnan(std) else std * scale)
            )
    for (key, points), color in zip(lines.items(), _group_colors(len(lines)), strict=True):
        x, y, e = (np.array(v) for v in zip(*sorted(points), strict=True))
        label = key if others else None
        ax.errorbar(x, y, yerr=e, marker="o", capsize=3, color=color, label=label)
    if numeric:
        values = sorted({x for x in xs if x is not None})
        if values[0] > 0 and values[-1] / values[0] >= 10:
            ax.set_xscale("log")
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()
    ax.set_xlabel(x_key)
    ax.set_ylabel(f"{metric} (%)" if _percent(metric) else metric)
    ax.set_title(f"final {metric} (mean ± std over seeds)")
    if others:
        ax.legend(fontsize=8)


def plot_sweep(
    settings: list[SettingResult],
    metric: str,
    curves: tuple[str, ...],
    keys: list[str],
    path: str | Path,
    title: str = "",
) -> Path:
    """Draw the sweep figure (see the module docstring) as a PNG at ``path``.

    ``settings``: the aggregated settings (`handgrad.sweep.collect.SettingResult`);
    ``keys``: the varying settings, the first one on the left panel's x axis.
    """
    curves = tuple(c for c in curves if any(c in s.curves for s in settings))
    has_final = bool(keys) and any(metric in s.final for s in settings)
    n_panels = int(has_final) + len(curves)
    if n_panels == 0:
        raise HandgradError("no finished trial to plot; run the sweep first")
    fig, axes = new_figure(1, n_panels, figsize=(5.2 * n_panels + 1.8, 4.2), squeeze=False)
    axes = list(axes[0])
    if has_final:
        _final_panel(axes.pop(0), settings, metric, keys)
    colors = _colors(settings, keys)
    for ax, curve in zip(axes, curves, strict=True):
        scale = 100.0 if _percent(curve) else 1.0
        for s, color in zip(settings, colors, strict=True):
            if curve not in s.curves:
                continue
            epochs, mean, std = s.curves[curve]
            ax.plot(epochs, mean * scale, color=color, lw=1.3, label=_label(s.settings))
            if not np.isnan(std).all():
                lo, hi = (mean - std) * scale, (mean + std) * scale
                ax.fill_between(epochs, lo, hi, color=color, alpha=0.2, lw=0)
        means = np.concatenate([s.curves[curve][1] for s in settings if curve in s.curves])
        if means.min() > 0 and means.max() / means.min() > 10:  # e.g. a loss over decades
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{curve} (%)" if _percent(curve) else curve)
        ax.set_title(f"{curve} per epoch (band: ± std over seeds)")
    if curves and len(settings) > 1:
        axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


_FAMILIES = ("Blues", "Oranges", "Greens", "Reds", "Purples", "Greys")


def _group_colors(n: int) -> list[Any]:
    """One dark colour per line of the left panel, from the families of `_colors`."""
    from matplotlib import colormaps

    if n > len(_FAMILIES):
        return [colormaps["tab20"](i % 20) for i in range(n)]
    return [colormaps[family](0.8) for family in _FAMILIES[:n]]


def _colors(settings: list[SettingResult], keys: list[str]) -> list[Any]:
    """A colour per setting: the family of its line in the left panel (the settings other
    than the first), darker for larger values of the first setting; tab20 if too many."""
    from matplotlib import colormaps

    groups = list(dict.fromkeys(_label({k: s.settings[k] for k in keys[1:]}) for s in settings))
    if not keys or len(groups) > len(_FAMILIES):
        return [colormaps["tab20"](i % 20) for i in range(len(settings))]
    xs = list(dict.fromkeys(_label({keys[0]: s.settings[keys[0]]}) for s in settings))
    colors = []
    for s in settings:
        family = _FAMILIES[groups.index(_label({k: s.settings[k] for k in keys[1:]}))]
        rank = xs.index(_label({keys[0]: s.settings[keys[0]]}))
        colors.append(colormaps[family](0.35 + 0.6 * (rank + 1) / len(xs)))
    return colors
