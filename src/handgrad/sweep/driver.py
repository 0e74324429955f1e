"""Run a whole sweep: plan the trials, run the unfinished ones, collect the results.

`run_sweep` is what ``handgrad sweep SPEC.toml`` calls. It is resumable: trials whose
directory holds summary.json are skipped; failed ones run again from scratch; ones
killed midway are resumed from their checkpoint. A failing trial is reported with its
error and does not stop the others. Ctrl-C or SIGTERM stops the sweep with every
finished trial kept; running the same command again completes the rest.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from handgrad.errors import HandgradError
from handgrad.sweep import backends
from handgrad.sweep.collect import PLOT, SweepResults, collect, write_tables
from handgrad.sweep.spec import SweepSpec
from handgrad.sweep.trials import Trial, TrialResult, expand, trial_state
from handgrad.training.loop import sigterm_as_interrupt
from handgrad.training.runs import write_json


@dataclass
class SweepOutcome:
    """What a sweep run did: ``ran`` the results of the trials run now; all trials'
    ``results``; and the files written."""

    out: Path
    trials: list[Trial]
    skipped: int
    ran: list[TrialResult]
    results: SweepResults
    plot: Path | None


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a sweep; the message says how to finish it."""


def default_out(spec: SweepSpec) -> Path:
    """The sweep folder: the spec's ``out``, else sweeps/<name> (relative to the cwd)."""
    return Path(spec.out or f"sweeps/{spec.name}")


def plan(spec: SweepSpec, out: str | Path) -> tuple[list[Trial], dict[str, str]]:
    """The trials of ``spec`` and each one's state in ``out`` (see `trial_state`)."""
    trials = expand(spec)
    return trials, {t.id: trial_state(out, t) for t in trials}


def run_sweep(
    spec: SweepSpec,
    out: str | Path | None = None,
    *,
    backend: str = "local",
    jobs: int | None = None,
    address: str | None = None,
    data_dir: str | Path | None = None,
    progress: bool = True,
    plot: bool = True,
    log: Callable[[str], None] = print,
) -> SweepOutcome:
    """Run the unfinished trials of ``spec`` into ``out``, then write tables and plot.

    ``backend``: "local" (``jobs`` processes, default one per core) or "ray" (tasks on
    the cluster at ``address``, or on a local Ray instance with ``jobs`` CPUs).
    ``data_dir`` is passed to trials that read image datasets (default $HANDGRAD_DATA).
    The local backend starts worker processes with "spawn": a script calling this must
    do so under ``if __name__ == "__main__":``.
    """
    if backend not in backends.BACKENDS:
        raise HandgradError(f"unknown backend {backend!r}; choose {' or '.join(backends.BACKENDS)}")
    if backend == "ray":
        backends.import_ray()  # fail before any work if Ray is missing
    out = Path(out if out is not None else default_out(spec)).absolute()
    trials, states = plan(spec, out)
    todo = [t for t in trials if states[t.id] != "done"]
    counts = Counter(states.values())
    n_settings = len({t.setting for t in trials})
    log(
        f"sweep {spec.name}: {spec.command.name}, {n_settings} setting(s) × {len(spec.seeds)} "
        f"seed(s) = {len(trials)} trials in {out}; {counts['done']} finished, "
        f"{counts['partial']} to resume, {counts['failed']} failed before, "
        f"{counts['pending']} new"
    )
    write_json(out / "spec.json", _spec_record(spec, backend))
    if data_dir is None:
        data_dir = os.environ.get("HANDGRAD_DATA")
    data = str(Path(data_dir).absolute()) if data_dir else None
    if backend == "local":
        stream = backends.run_local(todo, str(out), data, jobs or backends.default_jobs())
    else:
        stream = backends.run_ray(todo, str(out), data, address=address, jobs=jobs)
    try:
        ran = _run(stream, len(todo), progress, log)
    except KeyboardInterrupt:
        states = plan(spec, out)[1]
        finished = sum(s == "done" for s in states.values())
        raise SweepInterrupted(
            f"sweep stopped with {finished} of {len(trials)} trials finished; run the same "
            "command again to finish the others (interrupted ones resume)"
        ) from None
    results = collect(out, spec, trials)
    write_tables(out, results)
    figure = None
    if plot and any(s.n for s in results.settings):
        from handgrad.plots.sweep import plot_sweep

        figure = plot_sweep(
            results.settings, spec.metric, spec.curves, results.keys, out / PLOT, title=spec.name
        )
    return SweepOutcome(out, trials, len(trials) - len(todo), ran, results, figure)


def _run(stream, total: int, progress: bool, log: Callable[[str], None]) -> list[TrialResult]:
    ran: list[TrialResult] = []
    bar = tqdm(total=total, unit="trial", desc="trials", disable=not progress or total == 0)
    try:
        with sigterm_as_interrupt(), bar:
            for result in stream:
                ran.append(result)
                bar.update(1)
                if result.status == "failed":
                    bar.write(f"trial {result.id} failed: {result.error}")
                    bar.set_postfix(failed=sum(r.status == "failed" for r in ran))
                elif not progress:
                    log(f"trial {result.id} done in {result.seconds:.1f}s")
    finally:
        stream.close()  # on an interruption: stops the backend's workers
    return ran


def _spec_record(spec: SweepSpec, backend: str) -> dict:
    """What spec.json keeps of a sweep, for the record (the spec file is the source)."""
    return {
        "name": spec.name,
        "command": spec.command.name,
        "source": spec.source,
        "seeds": list(spec.seeds),
        "base": spec.base,
        "grid": spec.grid,
        "random": None
        if spec.random is None
        else {
            "samples": spec.random.samples,
            "seed": spec.random.seed,
            "params": {k: [d.kind, list(d.args)] for k, d in spec.random.params.items()},
        },
        "metric": spec.metric,
        "curves": list(spec.curves),
        "backend": backend,
    }
