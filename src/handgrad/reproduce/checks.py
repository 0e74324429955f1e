"""The gradient-check parts of ``handgrad reproduce``: 2.1 every layer and loss, 2.2 the
multi-task network's backward and the derived closed-form formulas, each against central
finite differences. Each writes its config.json and summary.json (the per-tensor report;
for the formulas also each formula's LaTeX, which the report shows). Their section of
the report (`SECTION`: 2.1 and the checks of 2.2) is written at the end."""

from __future__ import annotations

import re
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
from handgrad.report.document import Badge, Equation, Heading, Paragraph, Table
from handgrad.report.sections import Sections, words
from handgrad.reproduce.results import FAILED, PASSED, PartResult
from handgrad.training.parts import Context, Part, Section, Verdict
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


# the keys of the parts: the directories of their files and their entries in reproduce.json
LAYERS, NETWORK, FORMULAS = "checks-layers", "checks-network", "checks-formulas"


def check_parts(
    rtol: float = 1e-6, seed: int = 0, formula_batches: tuple[int, ...] = DEFAULT_BATCHES
) -> list[Part]:
    """The three gradient-check parts: relative tolerance ``rtol``, random batches from
    ``seed``, the formulas checked at batch sizes ``formula_batches``."""
    criterion = f"relative error ≤ {rtol:g} against central finite differences"
    return [
        Part(
            LAYERS,
            "2.1",
            "Gradients of the basic layers",
            criterion,
            _run_layers(rtol, seed),
        ),
        Part(
            NETWORK,
            "2.2",
            "Multi-task network: backward vs finite differences",
            criterion,
            _run_network(rtol, seed),
        ),
        Part(
            FORMULAS,
            "2.2",
            "Multi-task network: the derived formulas",
            f"{criterion} and against the backward",
            _run_formulas(rtol, seed, formula_batches),
        ),
    ]


# --- their section of the report: 2.1 and the checks of 2.2 ------------------------------

# Part Two, 2.1: the basic layers' gradients (report 000, with sgn read as a step).
LAYER_FORMULAS: tuple[tuple[str, str, str], ...] = (
    (
        "Batch norm",
        "BatchNorm1d (train)",
        r"\frac{\partial y_i}{\partial \gamma} = \hat x_i = "
        r"\frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}},\qquad "
        r"\frac{\partial y_i}{\partial \beta} = 1",
    ),
    (
        "Dropout",
        "Dropout (train)",
        r"y_j = x_j M_j,\quad M_j = \frac{1}{1-p}\,\mathbb{1}[r_j \ge p],\qquad "
        r"\frac{\partial y_j}{\partial x_j} = M_j",
    ),
    (
        "Softmax",
        "Softmax",
        r"\frac{\partial y_i}{\partial x_k} = y_i\,(\delta_{ik} - y_k):\quad "
        r"(1 - y_i)\,y_i \text{ if } i = k,\quad -y_i y_k \text{ if } i \ne k",
    ),
)

# Part Two, 2.2: the network's forward pass, in the derivation's notation.
FORWARD_FORMULAS: tuple[str, ...] = (
    r"z_{1A} = x\,\theta_{1A}^\top + b_{1A},\quad x_{1A} = \sin z_{1A},\quad "
    r"x_{DP} = x_{1A} \odot M,\quad \hat y_A = x_{2A} = x_{DP}\,\theta_{2A}^\top + b_{2A}",
    r"x_{1B} = x\,\theta_{1B}^\top,\quad "
    r"x_{BN} = x_{1B} - \frac{1}{m}\sum_{j=1}^m x_{1B}^j + b_{1B},\quad "
    r"x_{BN^*} = \max(x_{BN}, 0)",
    r"x_\oplus = x_{2A} + x_{BN^*},\quad z_{2B} = x_\oplus\,\theta_{2B}^\top + b_{2B},\quad "
    r"\hat y_B = \mathrm{softmax}(z_{2B})",
    r"L = \frac{1}{m}\sum_{i=1}^m \Big[\frac{1}{2}\lVert \hat y_A^i - y_A^i \rVert^2 - "
    r"\sum_{k=1}^b y_{B,k}^i \log \hat y_{B,k}^i\Big]",
)


def write_section(report: Sections) -> None:
    """Add 2.1 (each layer's derived gradient, then the layer check's table) and the
    checks of 2.2 (the network's forward pass, each derived formula against finite
    differences and the backward, then the network check's table) to ``report``. The
    multi-task training demo that ends 2.2 is the multi-task experiment's section."""
    _layers(report)
    report.add(
        Heading(3, "2.2 Feed-forward and back-propagation of the multi-task network", "mt"),
        Paragraph(
            "A batch of m rows x; task A regresses ŷA, task B classifies ŷB, and x2A "
            "feeds both the task-A loss and task B. Forward pass and loss:"
        ),
    )
    report.add(*(Equation(latex) for latex in FORWARD_FORMULAS))
    _formulas(report)
    _network(report)


SECTION = Section("2.1", write_section)


def _grad_reports(report: Sections, part: PartResult) -> list[dict[str, Any]]:
    """The per-(case, m) reports of a check part's summary.json ([] if it has none)."""
    summary = report.summary(part)
    return [] if summary is None else summary["reports"]


def _layers(report: Sections) -> None:
    part = report.opened(
        Heading(3, "2.1 Gradients of the basic layers", "layers"), LAYERS, "The layer check"
    )
    if part is None:
        return None
    rtol = (report.summary(part) or {}).get("rtol", 0.0)
    cases = _by_case(_grad_reports(report, part))
    report.add(
        Paragraph(
            "Each layer's hand-written backward is compared with central finite "
            "differences in float64, for the input and every parameter, at batch sizes "
            f"{words(report.config(part).get('batch_sizes', []))}. The derived gradients:"
        )
    )
    for name, case, latex in LAYER_FORMULAS:
        worst, ok = _case_status(cases.get(case, []))
        note = (
            f"{name}: checked as “{case}”, worst relative error {worst:.1e} (tolerance {rtol:g})"
            if case in cases
            else f"{name}: not checked in this run"
        )
        badge = Badge(PASSED if ok else FAILED) if case in cases else None
        report.add(Equation(latex, badge, note))
    report.run_line(part)
    rows = []
    for case, group in cases.items():
        worst, ok = _case_status(group)
        n = sum(len(r["checks"]) for r in group)
        tensors = ", ".join(dict.fromkeys(c["name"] for r in group for c in r["checks"]))
        ms = ",".join(r["subject"].rsplit("m=", 1)[-1] for r in group)
        rows.append([case, tensors, ms, str(n), f"{worst:.1e}", Badge(PASSED if ok else FAILED)])
    report.add(
        Table(
            ["Layer / loss", "Gradients of", "m", "Checks", "Worst rel. error", "Status"],
            rows,
            numeric=(3, 4),
        ),
        Paragraph(
            f"Reference: agreement with finite differences to a relative error of "
            f"{rtol:g} (ε = 1e-5, central differences in float64).",
            note=True,
        ),
    )
    return None


def _formulas(report: Sections) -> None:
    part = report.opened(
        Heading(4, "The derived gradients, each checked", "formulas"), FORMULAS, "The formula check"
    )
    if part is None:
        return None
    s = report.summary(part) or {}
    c = report.config(part)
    report.add(
        Paragraph(
            "Each closed-form formula (report 000, section 2.2, with sgn read as the "
            "step 1[x > 0]) is evaluated on random float64 batches of m = "
            f"{', '.join(map(str, c.get('batch_sizes', [])))} rows with a dropout mask "
            f"(p = {c.get('dropout_p')}) and compared with central finite differences "
            "of L and with the network's backward."
        )
    )
    report.run_line(part)
    rtol = s.get("rtol", 0.0)
    for r in s.values():
        if not isinstance(r, dict) or "latex" not in r:
            continue
        note = (
            f"vs finite differences: worst rel. error {r['fd_max_rel_err']:.1e}; vs the "
            f"backward: {r['backward_max_rel_err']:.1e} (tolerance {rtol:g})"
        )
        report.add(Equation(r["latex"], Badge(PASSED if r["passed"] else FAILED), note))
    return None


def _network(report: Sections) -> None:
    part = report.opened(
        Heading(4, "The backward pass vs finite differences", "network"),
        NETWORK,
        "The network check",
    )
    if part is None:
        return None
    report.run_line(part)
    rows = []
    reports = _grad_reports(report, part)
    for r in reports:
        worst = max(c["max_rel_err"] for c in r["checks"])
        rows.append(
            [
                r["subject"],
                str(len(r["checks"])),
                f"{worst:.1e}",
                Badge(PASSED if r["passed"] else FAILED),
            ]
        )
    report.add(
        Table(
            ["Case (sizes, dropout)", "Gradients", "Worst rel. error", "Status"],
            rows,
            numeric=(1, 2),
        ),
        Paragraph(
            "Gradients checked per case: "
            f"{', '.join(dict.fromkeys(c['name'] for r in reports for c in r['checks']))}. "
            "At m = 1 BN* subtracts the row itself, so ∂L/∂θ1B is exactly 0 (and "
            "checked to be).",
            note=True,
        ),
    )
    return None


def _by_case(reports: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Group per-(case, m) reports by case name ("Softmax m=3" → "Softmax")."""
    cases: dict[str, list[dict[str, Any]]] = {}
    for r in reports:
        case = re.sub(r"\s+m=\d+$", "", r["subject"])
        cases.setdefault(case, []).append(r)
    return cases


def _case_status(group: list[dict[str, Any]]) -> tuple[float, bool]:
    """(worst relative error, all passed) over the reports of one case."""
    if not group:
        return float("nan"), False
    worst = max(c["max_rel_err"] for r in group for c in r["checks"])
    return worst, all(r["passed"] for r in group)
