"""Gather a sweep's trial directories into tables, a printed summary and a plot.

Files written in the sweep folder:

    results.csv   one row per trial: trial, setting, seed, the varying settings, status,
                  every number of its summary.json and last metrics line, error
    summary.csv   one row per setting: the varying settings, n (finished seeds) and,
                  for every metric m, m_mean and m_std over the finished seeds
    sweep.png     final headline metric per setting, and per-epoch curves with a band
                  of ± one std over seeds (`handgrad.plots.sweep`)

std is the sample standard deviation over seeds, s = √(Σ (xᵢ − x̄)² / (n − 1)); it is
empty (NaN) for a setting with one finished seed.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.io import atomic_write
from handgrad.sweep.spec import SweepSpec
from handgrad.sweep.trials import Trial, read_error, trial_dir
from handgrad.training.runs import read_json, read_metrics

RESULTS_CSV = "results.csv"
SUMMARY_CSV = "summary.csv"
PLOT = "sweep.png"
# Columns that are not results: per-epoch bookkeeping and constants of the command.
_SKIPPED = ("epoch", "lr", "seconds", "epochs")
_TIMING = ("train_seconds", "seconds_per_epoch")


@dataclass
class SettingResult:
    """The finished seeds of one setting, aggregated.

    ``final[m] = (mean, std)`` over seeds of the final value of metric m; ``curves[m] =
    (epochs, mean, std)``, arrays of shape (n_epochs,), for each curve metric present.
    """

    setting: str
    settings: dict[str, Any]
    n: int
    n_trials: int
    final: dict[str, tuple[float, float]] = field(default_factory=dict)
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass
class SweepResults:
    """Every trial's row (`rows`) and every setting's aggregate (`settings`)."""

    rows: list[dict[str, Any]]
    settings: list[SettingResult]
    keys: list[str]  # the varying settings, in spec order
    metrics: list[str]  # the metric columns, headline first

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == "failed"]


def _final_numbers(summary: dict[str, Any], last: dict[str, Any]) -> dict[str, float]:
    """Scalar numbers of summary.json, then those of the last metrics line not in it."""
    numbers: dict[str, float] = {}
    for source in (summary, last):
        for key, value in source.items():
            if key in numbers or key in _SKIPPED or key.startswith("reference_"):
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                numbers[key] = float(value)
    return numbers


def collect(out: str | Path, spec: SweepSpec, trials: list[Trial]) -> SweepResults:
    """Read every trial directory of the sweep in ``out`` (done, failed or missing)."""
    keys = list(dict.fromkeys(k for t in trials for k in t.settings))
    rows, histories = [], {}
    for trial in trials:
        path = trial_dir(out, trial)
        row: dict[str, Any] = {"trial": trial.id, "setting": trial.setting, "seed": trial.seed}
        row.update({k: trial.settings.get(k) for k in keys})
        error = read_error(out, trial)
        if error is None and (path / "summary.json").is_file():
            history = read_metrics(path)
            histories[trial.id] = history
            row["status"] = "done"
            row.update(_final_numbers(read_json(path / "summary.json"), history[-1]))
        else:
            row["status"] = "failed" if error else "missing"
        row["error"] = error or ""
        rows.append(row)
    found = dict.fromkeys(k for r in rows for k in r if k not in ("error", "status"))
    numeric = [k for k in found if k not in ("trial", "setting", "seed", *keys)]
    metrics = sorted(numeric, key=lambda k: (k != spec.metric, k in _TIMING))
    by_setting: dict[str, list[Trial]] = {}
    for trial in trials:
        by_setting.setdefault(trial.setting, []).append(trial)
    settings = [
        _aggregate(group, rows, histories, metrics, spec.curves) for group in by_setting.values()
    ]
    return SweepResults(rows, settings, keys, metrics)


def _aggregate(
    group: list[Trial],
    rows: list[dict[str, Any]],
    histories: dict[str, list[dict[str, Any]]],
    metrics: list[str],
    curves: tuple[str, ...],
) -> SettingResult:
    ids = {t.id for t in group}
    done = [r for r in rows if r["trial"] in ids and r["status"] == "done"]
    result = SettingResult(group[0].setting, group[0].settings, len(done), len(group))
    for metric in metrics:
        values = np.array([r[metric] for r in done if metric in r], dtype=np.float64)
        if values.size:
            result.final[metric] = _mean_std(values)
    for curve in curves:
        runs = [histories[r["trial"]] for r in done]
        series = [[row[curve] for row in h if curve in row] for h in runs]
        if not series or not series[0] or len({len(s) for s in series}) != 1:
            continue
        values = np.array(series, dtype=np.float64)  # (seeds, epochs)
        epochs = np.array([row["epoch"] for row in runs[0] if curve in row])
        std = values.std(axis=0, ddof=1) if len(values) > 1 else np.full(values.shape[1], np.nan)
        result.curves[curve] = (epochs, values.mean(axis=0), std)
    return result


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    std = float(values.std(ddof=1)) if values.size > 1 else math.nan
    return float(values.mean()), std


def write_tables(out: str | Path, results: SweepResults) -> tuple[Path, Path]:
    """Write results.csv and summary.csv into ``out`` (atomically); returns their paths."""
    out = Path(out)
    head = ["trial", "setting", "seed", *results.keys, "status"]
    rows = [{k: _cell(v) for k, v in r.items()} for r in results.rows]
    results_path = _write_csv(out / RESULTS_CSV, [*head, *results.metrics, "error"], rows)
    columns = ["setting", *results.keys, "n"]
    columns += [f"{m}_{s}" for m in results.metrics for s in ("mean", "std")]
    summary_rows = []
    for s in results.settings:
        row: dict[str, Any] = {"setting": s.setting, "n": s.n}
        row.update({k: _cell(s.settings.get(k)) for k in results.keys})
        for metric, (mean, std) in s.final.items():
            row[f"{metric}_mean"], row[f"{metric}_std"] = _cell(mean), _cell(std)
        summary_rows.append(row)
    return results_path, _write_csv(out / SUMMARY_CSV, columns, summary_rows)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, float):
        return repr(value)  # every digit: identical trials give identical text
    return value


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_write(path, "w") as f:
        f.write(buffer.getvalue())
    return path


def format_value(metric: str, value: float) -> str:
    """Accuracies as percentages, other metrics with 4 significant digits."""
    if math.isnan(value):
        return "—"
    return f"{100 * value:.2f}" if metric.endswith("acc") or "_acc_" in metric else f"{value:.4g}"


def summary_table(results: SweepResults, spec: SweepSpec) -> str:
    """The per-setting summary as aligned text: mean ± std of the headline metric and curves."""
    shown = [spec.metric, *(c for c in spec.curves if c != spec.metric)]
    shown = [m for m in shown if any(m in s.final for s in results.settings)]
    timing = [m for m in _TIMING if any(m in s.final for s in results.settings)][:1]

    def label(metric: str) -> str:
        pct = metric.endswith("acc") or "_acc_" in metric
        return f"{metric} (%)" if pct else metric

    header = [*results.keys, "seeds", *(label(m) for m in shown), *timing]
    lines = [header]
    for s in results.settings:
        cells = [_cell(s.settings.get(k)) for k in results.keys]
        cells.append(f"{s.n}/{s.n_trials}")
        for metric in shown:
            mean, std = s.final.get(metric, (math.nan, math.nan))
            cells.append(f"{format_value(metric, mean)} ± {format_value(metric, std)}")
        cells += [f"{s.final[m][0]:.1f}" if m in s.final else "—" for m in timing]
        lines.append([str(c) for c in cells])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
