"""Reproduce the whole assignment in one call: every check and every run, then the report.

`reproduce(out, plan)` runs, in this order, each part of the assignment into its own
directory under ``out`` and judges it against a stated criterion:

    checks-layers/     2.1  every layer and loss vs finite differences       (`checks.layers`)
    checks-network/    2.2  the multi-task backward vs finite differences    (`checks.network`)
    checks-formulas/   2.2  the derived closed-form formulas vs finite differences
    multitask/         2.2  the multi-task network trained on synthetic data
    mlp/               1.1  the MLP reference run on MNIST (95.18% in the report)
    vae-<dataset>/     1.2  the VAE on each 2-D dataset (judged against the entropy bound)
    vae-mnist/         1.2  the VAE on MNIST

Every directory holds config.json (the settings) and summary.json (the numbers); training
runs also metrics.jsonl and their figures. ``out/reproduce.json`` lists each part with its
status — "passed", "failed" or "skipped" (MNIST missing: the message says how to get it)
— and `handgrad.report.write_report` renders report.html and report.md from these files
alone. A part that raises is recorded as failed (its traceback in ``error.txt``) and the
others still run; the exit code is 0 exactly when no part that ran failed.

`quick_plan()` runs a reduced version of every part (subsets, a few epochs) for a first
look and for CI; `full_plan()` the real settings.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from handgrad import __version__
from handgrad.checks.formulas import (
    DEFAULT_BATCHES,
    DEFAULT_DIMS,
    DEFAULT_P,
    derived_gradients,
    quantities,
    true_gradients,
)
from handgrad.checks.layers import BATCH_SIZES, layer_reports
from handgrad.checks.network import DEFAULT_DROPOUT, DEFAULT_SHAPES, check_network, sample_problem
from handgrad.data.mnist import (
    cache_dir,
    download_dataset,
    explicit_problem,
    find_dataset,
    where_to_put,
)
from handgrad.errors import HandgradError, MachineFault
from handgrad.experiments.mlp import MLPConfig, train_mlp
from handgrad.experiments.multitask import MultiTaskConfig, train_multitask
from handgrad.experiments.vae import VAEConfig, VAEData, load_vae_data, train_vae
from handgrad.gradcheck import GradReport, compare, numeric_gradient
from handgrad.models.multitask import PARAM_NAMES
from handgrad.training.runs import read_json, read_metrics, write_json

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
RESULT_FILE = "reproduce.json"
TOY_DATASETS = ("gauss-full", "gauss-diag", "ring")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """The settings of one reproduction, and the bar each part must clear.

    ``toy_sizes`` / ``mnist_sizes`` (n_train, n_test) shrink the VAE data (None: all of
    it). ``toy_max_gap`` maps a 2-D dataset to the largest allowed gap (nats) between the
    test −ELBO and the entropy bound; None judges each VAE only by its test −ELBO falling
    from the first epoch to the last (the quick plan's runs are too short for the bound).
    Likewise ``mnist_max_neg_elbo`` (None: the −ELBO must fall).
    """

    quick: bool
    mlp: MLPConfig
    mlp_min_acc: float
    multitask: MultiTaskConfig
    multitask_min_acc: float
    vae_toy: tuple[VAEConfig, ...]
    vae_mnist: VAEConfig
    toy_sizes: tuple[int, int] | None = None
    toy_max_gap: dict[str, float] | None = None
    mnist_sizes: tuple[int, int] | None = None
    mnist_max_neg_elbo: float | None = None
    rtol: float = 1e-6
    seed: int = 0
    formula_batches: tuple[int, ...] = DEFAULT_BATCHES

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"


def full_plan() -> Plan:
    """The real settings: the MLP reference run, the VAEs' defaults, all the data."""
    return Plan(
        quick=False,
        mlp=MLPConfig(),
        mlp_min_acc=0.90,  # the assignment's bar ("exceeds 90%"); the report reached 95.18%
        multitask=MultiTaskConfig(),
        multitask_min_acc=0.90,
        vae_toy=tuple(VAEConfig(dataset=name) for name in TOY_DATASETS),
        vae_mnist=VAEConfig(dataset="mnist"),
        # one Gaussian decoder cannot fit 8 separate modes exactly: the ring keeps a gap
        toy_max_gap={"gauss-full": 0.1, "gauss-diag": 0.1, "ring": 1.0},
        mnist_max_neg_elbo=111.0,  # PyTorch's example reaches 105.80 in the same 10 epochs
    )


def quick_plan() -> Plan:
    """A reduced version of every part (subsets, a few epochs): about a minute on 2 cores."""
    return Plan(
        quick=True,
        mlp=MLPConfig(epochs=2, train_subset=10_000),
        mlp_min_acc=0.85,
        multitask=MultiTaskConfig(epochs=8, n_samples=2000),
        multitask_min_acc=0.75,  # chance is 1/4
        vae_toy=tuple(VAEConfig(dataset=name, epochs=8) for name in TOY_DATASETS),
        vae_mnist=VAEConfig(dataset="mnist", epochs=2),
        toy_sizes=(2000, 1000),
        mnist_sizes=(3000, 1000),
        formula_batches=(1, 2, 5),
    )


def smoke_plan() -> Plan:
    """The smallest settings that still run every part end to end (seconds): for tests."""
    return Plan(
        quick=True,
        mlp=MLPConfig(hidden=[16], epochs=1, train_subset=2000),
        mlp_min_acc=0.5,
        multitask=MultiTaskConfig(epochs=4, n_samples=800),
        multitask_min_acc=0.3,
        vae_toy=tuple(VAEConfig(dataset=n, epochs=2, hidden=[16, 16]) for n in TOY_DATASETS),
        vae_mnist=VAEConfig(dataset="mnist", epochs=2, hidden=[32], latent=4),
        toy_sizes=(500, 200),
        mnist_sizes=(600, 200),
        formula_batches=(1, 3),
    )


@dataclass
class PartResult:
    """How one part went. ``directory`` is relative to the output folder."""

    key: str
    section: str
    title: str
    criterion: str
    status: str = SKIPPED
    message: str = ""
    directory: str | None = None
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReproduceResult:
    """Every part's result; written to ``out/reproduce.json``."""

    out: Path
    mode: str
    parts: list[PartResult]
    seconds: float = 0.0
    started: str = ""
    version: str = __version__

    @property
    def exit_code(self) -> int:
        """0 when no part that ran failed (skipped parts do not count), else 1."""
        return 1 if any(p.status == FAILED for p in self.parts) else 0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["exit_code"] = self.exit_code
        return d

    @classmethod
    def load(cls, out: str | Path) -> ReproduceResult:
        """Read ``out/reproduce.json`` back."""
        raw = read_json(Path(out) / RESULT_FILE)
        try:
            parts = [PartResult(**p) for p in raw["parts"]]
            return cls(
                Path(out), raw["mode"], parts, raw["seconds"], raw["started"], raw["version"]
            )
        except (KeyError, TypeError) as e:
            raise HandgradError(
                f"{Path(out) / RESULT_FILE}: not a reproduce result ({e}); run 'handgrad "
                "reproduce' again"
            ) from None


@dataclass
class _Context:
    out: Path
    data_dir: str | Path | None
    download: bool
    progress: bool
    log: Log
    mnist_problem: str | None = None  # why MNIST is unavailable; None when it is there


@dataclass(frozen=True)
class _Part:
    key: str
    section: str
    title: str
    criterion: str
    run: Callable[[_Context, Path], tuple[bool, str, dict[str, Any]]]
    needs_mnist: bool = False


# --- the parts --------------------------------------------------------------------------------
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
) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    """A part that runs one gradient check: writes its config, the per-tensor report
    (summary.json) and judges it."""

    def run(ctx: _Context, d: Path) -> tuple[bool, str, dict]:
        write_json(d / "config.json", config)
        results = reports()
        ok, message = _judge_reports(results, rtol)
        write_json(
            d / "summary.json", {"passed": ok, "rtol": rtol, "reports": _reports_json(results)}
        )
        return ok, message, {}

    return run


def _run_layers(plan: Plan) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    return _run_checks(
        {"rtol": plan.rtol, "seed": plan.seed, "batch_sizes": list(BATCH_SIZES)},
        lambda: layer_reports(rtol=plan.rtol, seed=plan.seed),
        plan.rtol,
    )


def _run_network(plan: Plan) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    config = {
        "rtol": plan.rtol,
        "seed": plan.seed,
        "shapes (m, n, h, a, b)": [list(s) for s in DEFAULT_SHAPES],
        "dropout": list(DEFAULT_DROPOUT),
    }
    return _run_checks(config, lambda: check_network(seed=plan.seed, rtol=plan.rtol), plan.rtol)


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


def _run_formulas(plan: Plan) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    def run(ctx: _Context, d: Path) -> tuple[bool, str, dict]:
        config = {
            "rtol": plan.rtol,
            "eps": 1e-5,
            "seed": plan.seed,
            "batch_sizes": list(plan.formula_batches),
            "dims": DEFAULT_DIMS,
            "dropout_p": DEFAULT_P,
        }
        write_json(d / "config.json", config)
        results = check_reference_formulas(plan.formula_batches, seed=plan.seed, rtol=plan.rtol)
        failed = [k for k, v in results.items() if not v["passed"]]
        worst = max(v["fd_max_rel_err"] for v in results.values())
        write_json(d / "summary.json", {"passed": not failed, "rtol": plan.rtol, **results})
        if failed:
            return False, f"formulas disagree for {', '.join(failed)}", {}
        return True, f"all {len(results)} formulas agree; worst rel. error {worst:.1e}", {}

    return run


def _run_multitask(plan: Plan) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    def run(ctx: _Context, d: Path) -> tuple[bool, str, dict]:
        acc = train_multitask(plan.multitask, d, overwrite=True, log=ctx.log)["test_acc_b"]
        ok = acc >= plan.multitask_min_acc
        rel = "≥" if ok else "<"
        return ok, f"task-B test accuracy {acc:.2%} {rel} {plan.multitask_min_acc:.0%}", {}

    return run


def _run_mlp(plan: Plan) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    def run(ctx: _Context, d: Path) -> tuple[bool, str, dict]:
        summary = train_mlp(
            plan.mlp,
            d,
            data_dir=ctx.data_dir,
            progress=ctx.progress,
            overwrite=True,
            log=ctx.log,
        )
        acc = summary["test_acc"]
        ok = acc >= plan.mlp_min_acc
        rel = "≥" if ok else "<"
        ref = summary.get("reference_test_acc")
        tail = f" (report: {ref:.2%})" if ref else ""
        return ok, f"test accuracy {acc:.2%} {rel} {plan.mlp_min_acc:.0%}{tail}", {}

    return run


def _fell(d: Path) -> tuple[bool, str]:
    """Did the test −ELBO of the run in ``d`` fall from its first epoch to its last?"""
    rows = read_metrics(d)
    if len(rows) < 2:
        return False, "one epoch cannot show the −ELBO falling; train for 2 or more"
    first, last = rows[0]["test_neg_elbo"], rows[-1]["test_neg_elbo"]
    ok = bool(np.isfinite(last)) and last < first
    return ok, f"test −ELBO {first:.3f} → {last:.3f} nats over {len(rows)} epochs"


def _run_vae_toy(plan: Plan, config: VAEConfig) -> Callable[[_Context, Path], tuple]:
    def run(ctx: _Context, d: Path) -> tuple[bool, str, dict]:
        from handgrad.data.toy2d import load_toy2d

        data, info = None, {}
        if plan.toy_sizes is not None:
            n_train, n_test = plan.toy_sizes
            toy = load_toy2d(config.dataset, n_train=n_train, n_test=n_test, seed=config.data_seed)
            data = VAEData(config.dataset, toy.train, toy.test, truth=toy)
            info = {"n_train": n_train, "n_test": n_test}
        gap = train_vae(config, d, data=data, overwrite=True, log=ctx.log)["gap_to_entropy"]
        if plan.toy_max_gap is None:
            ok, message = _fell(d)
            return ok, f"{message}; gap to the entropy bound {gap:+.3f}", info
        bound = plan.toy_max_gap[config.dataset]
        ok = bool(np.isfinite(gap)) and gap <= bound
        rel = "≤" if ok else ">"
        return ok, f"test −ELBO − entropy = {gap:+.3f} nats {rel} {bound:g}", info

    return run


def _run_vae_mnist(plan: Plan) -> Callable[[_Context, Path], tuple[bool, str, dict]]:
    def run(ctx: _Context, d: Path) -> tuple[bool, str, dict]:
        config = plan.vae_mnist.resolve()
        data = load_vae_data(config, ctx.data_dir)
        info: dict[str, Any] = {}
        if plan.mnist_sizes is not None:
            n_train, n_test = plan.mnist_sizes
            data = replace(
                data,
                train=data.train[:n_train],
                test=data.test[:n_test],
                test_labels=data.test_labels[:n_test],
            )
            info = {"n_train": n_train, "n_test": n_test}
        neg_elbo = train_vae(config, d, data=data, overwrite=True, log=ctx.log)["test_neg_elbo"]
        if plan.mnist_max_neg_elbo is None:
            ok, message = _fell(d)
            return ok, message, info
        ok = bool(np.isfinite(neg_elbo)) and neg_elbo <= plan.mnist_max_neg_elbo
        rel = "≤" if ok else ">"
        return ok, f"test −ELBO {neg_elbo:.2f} nats {rel} {plan.mnist_max_neg_elbo:g}", info

    return run


def _vae_criterion(plan: Plan, dataset: str) -> str:
    if plan.toy_max_gap is None:
        return "the test −ELBO falls during training (runs too short for the entropy bound)"
    return f"test −ELBO within {plan.toy_max_gap[dataset]:g} nats of the entropy H[p]"


def plan_parts(plan: Plan) -> list[_Part]:
    """The parts of ``plan`` in the order they run."""
    rtol = f"relative error ≤ {plan.rtol:g} against central finite differences"
    parts = [
        _Part("checks-layers", "2.1", "Gradients of the basic layers", rtol, _run_layers(plan)),
        _Part(
            "checks-network",
            "2.2",
            "Multi-task network: backward vs finite differences",
            rtol,
            _run_network(plan),
        ),
        _Part(
            "checks-formulas",
            "2.2",
            "Multi-task network: the derived formulas",
            f"{rtol} and against the backward",
            _run_formulas(plan),
        ),
        _Part(
            "multitask",
            "2.2",
            "Multi-task network: training demo",
            f"task-B test accuracy ≥ {plan.multitask_min_acc:.0%} (chance: 1/classes)",
            _run_multitask(plan),
        ),
        _Part(
            "mlp",
            "1.1",
            "MLP on MNIST",
            f"test accuracy ≥ {plan.mlp_min_acc:.0%}",
            _run_mlp(plan),
            needs_mnist=True,
        ),
    ]
    for config in plan.vae_toy:
        parts.append(
            _Part(
                f"vae-{config.dataset}",
                "1.2",
                f"VAE on 2-D data: {config.dataset}",
                _vae_criterion(plan, config.dataset),
                _run_vae_toy(plan, config),
            )
        )
    mnist_criterion = (
        "the test −ELBO falls during training"
        if plan.mnist_max_neg_elbo is None
        else f"test −ELBO ≤ {plan.mnist_max_neg_elbo:g} nats"
    )
    parts.append(
        _Part(
            "vae-mnist",
            "1.2",
            "VAE on MNIST",
            mnist_criterion,
            _run_vae_mnist(plan),
            needs_mnist=True,
        )
    )
    return parts


# --- running them -----------------------------------------------------------------------------
def mnist_problem(data_dir: str | Path | None, *, download: bool, progress: bool) -> str | None:
    """None if MNIST can be loaded (downloading it if allowed), else how to fix that.

    A folder named by ``data_dir`` or ``HANDGRAD_DATA`` that lacks MNIST is never
    replaced by another, nor filled by a download: the problem names that folder.
    """
    if find_dataset("mnist", data_dir) is not None:
        return None
    named = explicit_problem("mnist", data_dir)
    if named is not None:
        return named
    dest = cache_dir("mnist")
    if not download:
        return f"MNIST not found (downloads off); {where_to_put('mnist', dest)}"
    try:
        download_dataset("mnist", dest, progress=progress)
    except (HandgradError, MachineFault) as e:
        return f"MNIST not found and the download failed: {e}"
    return None


def _run_part(part: _Part, ctx: _Context, index: int, total: int) -> PartResult:
    result = PartResult(part.key, part.section, part.title, part.criterion)
    ctx.log(f"[{index}/{total}] {part.section} {part.title}")
    if part.needs_mnist and ctx.mnist_problem is not None:
        result.message = ctx.mnist_problem
        ctx.log(f"      skipped: {result.message}")
        return result
    d = ctx.out / part.key
    d.mkdir(parents=True, exist_ok=True)
    (d / "error.txt").unlink(missing_ok=True)
    result.directory = part.key
    start = time.perf_counter()
    indented = ctx.log

    def sub_log(line: str) -> None:
        indented(f"      {line}")

    try:
        ok, result.message, result.data = part.run(replace(ctx, log=sub_log), d)
        result.status = PASSED if ok else FAILED
    except MachineFault:  # a full or read-only disk stops the reproduction
        raise
    except Exception as e:  # a failing part is reported; the others still run
        result.status = FAILED
        result.message = f"{type(e).__name__}: {e}"
        (d / "error.txt").write_text(traceback.format_exc())
    result.seconds = time.perf_counter() - start
    ctx.log(f"      {result.status}: {result.message} ({result.seconds:.1f} s)")
    return result


def reproduce(
    out: str | Path,
    plan: Plan | None = None,
    *,
    data_dir: str | Path | None = None,
    download: bool = True,
    progress: bool = False,
    overwrite: bool = False,
    only: tuple[str, ...] | None = None,
    log: Log = print,
) -> ReproduceResult:
    """Run every part of ``plan`` (default: `full_plan`) into ``out``, then write the report.

    ``only`` restricts the run to the parts with these keys (see `plan_parts`). Returns
    the `ReproduceResult`, also saved as ``out/reproduce.json``; report.html and
    report.md are written next to it.
    """
    from handgrad.report import write_report
    from handgrad.report.mathml import to_mathml

    to_mathml("x")  # fail now, not after an hour of training, if the report cannot be written
    plan = full_plan() if plan is None else plan
    out = Path(out)
    if (out / RESULT_FILE).exists() and not overwrite:
        raise HandgradError(
            f"{out} already holds a reproduction; choose another --out or pass --overwrite"
        )
    parts = plan_parts(plan)
    if only is not None:
        unknown = sorted(set(only) - {p.key for p in parts})
        if unknown:
            keys = ", ".join(p.key for p in parts)
            raise HandgradError(f"unknown part(s) {', '.join(unknown)}; choose from {keys}")
        parts = [p for p in parts if p.key in only]
    out.mkdir(parents=True, exist_ok=True)
    ctx = _Context(out, data_dir, download, progress, log)
    if any(p.needs_mnist for p in parts):
        ctx.mnist_problem = mnist_problem(data_dir, download=download, progress=progress)
    start = time.perf_counter()
    result = ReproduceResult(out, plan.mode, [], started=time.strftime("%Y-%m-%d %H:%M:%S"))
    for i, part in enumerate(parts, 1):
        result.parts.append(_run_part(part, ctx, i, len(parts)))
        result.seconds = time.perf_counter() - start
        write_json(out / RESULT_FILE, result.to_json())
    paths = write_report(out)
    log(f"report: {paths[0]}")
    return result
