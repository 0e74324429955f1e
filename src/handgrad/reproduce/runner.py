"""Reproduce the whole assignment in one call: every check and every run, then the report.

`reproduce(out, plan)` runs each part of ``plan`` (`handgrad.reproduce.plan.plan_parts`:
the gradient checks, then each experiment's parts) into its own directory under
``out`` and judges it against its stated criterion. Every directory holds config.json
(the settings) and summary.json (the numbers); training runs also metrics.jsonl and
their figures. ``out/reproduce.json`` lists each part with its status — "passed",
"failed" or "skipped" (MNIST missing: the message says how to get it) — and
`handgrad.report.write_report` renders report.html and report.md from these files
alone. A part that raises is recorded as failed (its traceback in ``error.txt``) and
the others still run; the exit code is 0 exactly when no part that ran failed.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import replace
from pathlib import Path

from handgrad.data.mnist import (
    cache_dir,
    download_dataset,
    explicit_problem,
    find_dataset,
    where_to_put,
)
from handgrad.errors import HandgradError, MachineFault
from handgrad.io import make_dir
from handgrad.reproduce.plan import Plan, full_plan, plan_parts
from handgrad.reproduce.results import FAILED, PASSED, RESULT_FILE, PartResult, ReproduceResult
from handgrad.training.parts import Context, Log, Part
from handgrad.training.runs import write_json


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


def _run_part(part: Part, ctx: Context, index: int, total: int) -> PartResult:
    result = PartResult(part.key, part.section, part.title, part.criterion)
    ctx.log(f"[{index}/{total}] {part.section} {part.title}")
    if part.needs_mnist and ctx.mnist_problem is not None:
        result.message = ctx.mnist_problem
        ctx.log(f"      skipped: {result.message}")
        return result
    d = ctx.out / part.key
    make_dir(d)
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
    make_dir(out)
    ctx = Context(out, data_dir, download, progress, log)
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
