"""The gradient-check parts of ``handgrad reproduce``: 2.1 every layer and loss, 2.2 the
multi-task network's backward and the derived closed-form formulas, each against central
finite differences. Each writes its config.json and summary.json (the per-tensor report;
for the formulas also each formula's LaTeX, which the report shows)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from handgrad.checks.formulas import (
    DEFAULT_BATCHES,
    DEFAULT_DIMS,
    DEFAULT_P,
    REFERENCE_FORMULAS,
    derived_gradients,
    quantities,
    true_gradients,
)
from handgrad.checks.layers import BATCH_SIZES, layer_reports
from handgrad.checks.network import DEFAULT_DROPOUT, DEFAULT_SHAPES, check_network, sample_problem
from handgrad.gradcheck import GradReport, compare, numeric_gradient
from handgrad.models.multitask import PARAM_NAMES
from handgrad.training.parts import Context, Part, Verdict
from handgrad.training.runs import write_json


def _reports_json(reports: list[GradReport]) -> list[dict[str, Any]]:
    return [
        {
            "subject": r.subject,
            "passed": r.passed,
            "checks": [{**asdict(c), "passed": c.passed} for c in r.checks],
        }
        for r in reports
    ]


def _judge_reports(reports: list[GradReport], rtol: float) -> tuple[bool, str]:
    n = sum(len(r.checks) for r in reports)
    worst = max(c.max_rel_err for r in reports for c in r.checks)
    failed = [r.subject for r in reports if not r.passed]
    if failed:
        return False, f"{len(failed)} of {len(reports)} cases fail: {', '.join(failed)}"
    return True, f"all {n} gradients agree; worst rel. error {worst:.1e} ≤ {rtol:g}"


def _run_checks(
    config: dict[str, Any], reports: Callable[[], list[GradReport]], rtol: float
) -> Callable[[Context, Path], Verdict]:
    """A part that runs one gradient check: writes its config, the per-tensor report
    (summary.json) and judges it."""

    def run(ctx: Context, d: Path) -> Verdict:
        write_json(d / "config.json", config)
        results = reports()
        ok, message = _judge_reports(results, rtol)
        write_json(
            d / "summary.json", {"passed": ok, "rtol": rtol, "reports": _reports_json(results)}
        )
        return ok, message, {}

    return run


def _run_layers(rtol: float, seed: int) -> Callable[[Context, Path], Verdict]:
    return _run_checks(
        {"rtol": rtol, "seed": seed, "batch_sizes": list(BATCH_SIZES)},
        lambda: layer_reports(rtol=rtol, seed=seed),
        rtol,
    )


def _run_network(rtol: float, seed: int) -> Callable[[Context, Path], Verdict]:
    config = {
        "rtol": rtol,
        "seed": seed,
        "shapes (m, n, h, a, b)": [list(s) for s in DEFAULT_SHAPES],
        "dropout": list(DEFAULT_DROPOUT),
    }
    return _run_checks(config, lambda: check_network(seed=seed, rtol=rtol), rtol)


def check_reference_formulas(
    batch_sizes: tuple[int, ...] = DEFAULT_BATCHES,
    *,
    dims: dict[str, int] | None = None,
    p: float = DEFAULT_P,
    seed: int = 0,
    eps: float = 1e-5,
    rtol: float = 1e-6,
) -> dict[str, dict[str, Any]]:
    """The derived closed-form gradients (`checks.formulas.derived_gradients`) vs the truth.

    For each batch size m, one random float64 batch (n, h, a, b from ``dims``, dropout
    mask with probability p); per parameter, the largest relative error over all m of
    the formula against central finite differences of L, and against the network's
    backward. Returns {parameter: {"fd_max_rel_err", "backward_max_rel_err", "passed"}}.
    """
    dims = dict(DEFAULT_DIMS if dims is None else dims)
    fd_err = dict.fromkeys(PARAM_NAMES, 0.0)
    bw_err = dict.fromkeys(PARAM_NAMES, 0.0)
    for i, m in enumerate(batch_sizes):
        problem = sample_problem(m, dims["n"], dims["h"], dims["a"], dims["b"], p, seed + i)
        formula = derived_gradients(quantities(problem))
        backward = true_gradients(problem)
        for name, param in problem.net.params.items():
            numeric = numeric_gradient(problem.loss, param.data, eps)
            fd = compare(name, formula[name], numeric, rtol).max_rel_err
            bw = compare(name, formula[name], backward[name], rtol).max_rel_err
            fd_err[name] = max(fd_err[name], fd)
            bw_err[name] = max(bw_err[name], bw)
    return {
        name: {
            "fd_max_rel_err": fd_err[name],
            "backward_max_rel_err": bw_err[name],
            "passed": fd_err[name] <= rtol and bw_err[name] <= rtol,
        }
        for name in PARAM_NAMES
    }


def _run_formulas(
    rtol: float, seed: int, batches: tuple[int, ...]
) -> Callable[[Context, Path], Verdict]:
    def run(ctx: Context, d: Path) -> Verdict:
        config = {
            "rtol": rtol,
            "eps": 1e-5,
            "seed": seed,
            "batch_sizes": list(batches),
            "dims": DEFAULT_DIMS,
            "dropout_p": DEFAULT_P,
        }
        write_json(d / "config.json", config)
        results = check_reference_formulas(batches, seed=seed, rtol=rtol)
        failed = [k for k, v in results.items() if not v["passed"]]
        worst = max(v["fd_max_rel_err"] for v in results.values())
        latex = {name: {"latex": REFERENCE_FORMULAS[name]} for name in results}
        summary = {name: {**r, **latex[name]} for name, r in results.items()}
        write_json(d / "summary.json", {"passed": not failed, "rtol": rtol, **summary})
        if failed:
            return False, f"formulas disagree for {', '.join(failed)}", {}
        return True, f"all {len(results)} formulas agree; worst rel. error {worst:.1e}", {}

    return run


def check_parts(
    rtol: float = 1e-6, seed: int = 0, formula_batches: tuple[int, ...] = DEFAULT_BATCHES
) -> list[Part]:
    """The three gradient-check parts: relative tolerance ``rtol``, random batches from
    ``seed``, the formulas checked at batch sizes ``formula_batches``."""
    criterion = f"relative error ≤ {rtol:g} against central finite differences"
    return [
        Part(
            "checks-layers",
            "2.1",
            "Gradients of the basic layers",
            criterion,
            _run_layers(rtol, seed),
        ),
        Part(
            "checks-network",
            "2.2",
            "Multi-task network: backward vs finite differences",
            criterion,
            _run_network(rtol, seed),
        ),
        Part(
            "checks-formulas",
            "2.2",
            "Multi-task network: the derived formulas",
            f"{criterion} and against the backward",
            _run_formulas(rtol, seed, formula_batches),
        ),
    ]
