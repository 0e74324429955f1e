"""Trials: the settings × seeds of a sweep, their run directories, and running one.

`expand` turns a spec into trials: the grid's Cartesian product crossed with the random
draws (both optional; no varying setting gives the one setting "base"), each run once
per seed. A trial's id names its directory, ``<out>/trials/<id>``, built from the
varying settings and the seed, e.g. ``hidden=20_lr=0.01_seed=0``: the same spec always
gives the same ids, so a re-run finds the trials it already finished.

A trial directory is an ordinary run directory of its command, plus ``log.txt`` (the
run's lines) and, after a failure, ``error.txt`` (one line). Its state:

    done      summary.json exists (the run writes it last)
    partial   config.json but no summary.json: killed midway; `run_trial` resumes it
              from its checkpoint.npz, or starts it over if it died before the first one
    failed    error.txt exists: run again on the next sweep
    pending   nothing there yet
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.errors import HandgradError, MachineFault
from handgrad.sweep.spec import Distribution, SweepSpec
from handgrad.training.checkpoint import CHECKPOINT_NAME
from handgrad.training.experiment import Experiment, RunOptions
from handgrad.training.registry import get as get_experiment
from handgrad.training.runs import read_json

ERROR_FILE = "error.txt"
LOG_FILE = "log.txt"
TRIALS_DIR = "trials"


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: a setting (``settings``, the varying part) with one seed."""

    id: str
    setting: str  # id of the setting, shared by its seeds
    settings: dict[str, Any]
    seed: int
    command: str
    config: dict[str, Any] = field(repr=False)  # the run's full config.json


@dataclass(frozen=True)
class TrialResult:
    """What running a trial did: status is "done" or "failed" (with a one-line ``error``)."""

    id: str
    status: str
    seconds: float
    resumed: bool = False
    error: str | None = None


def expand(spec: SweepSpec) -> list[Trial]:
    """All trials of ``spec``: settings in grid order (then random draws) × seeds.

    Raises `HandgradError` naming the setting if one cannot work (e.g. batch size 0).
    """
    trials = []
    seen: set[str] = set()
    for settings in _settings(spec):
        setting = setting_id(settings)
        if setting in seen:  # random draws can repeat a setting: run it once
            continue
        seen.add(setting)
        for seed in spec.seeds:
            try:
                config = asdict(spec.command.make_config({**spec.base, **settings, "seed": seed}))
            except HandgradError as e:
                raise HandgradError(f"{spec.source}: setting {setting}: {e}") from None
            trial_id = f"{setting}_seed={seed}" if settings else f"seed={seed}"
            trials.append(Trial(trial_id, setting, settings, seed, spec.command.name, config))
    return trials


def _settings(spec: SweepSpec) -> list[dict[str, Any]]:
    grid = [
        dict(zip(spec.grid, combo, strict=True)) for combo in itertools.product(*spec.grid.values())
    ]
    if spec.random is None:
        return grid
    rng = np.random.default_rng(spec.random.seed)
    draws = [
        {key: draw(dist, rng) for key, dist in spec.random.params.items()}
        for _ in range(spec.random.samples)
    ]
    return [{**g, **d} for g in grid for d in draws]


def draw(dist: Distribution, rng: np.random.Generator) -> Any:
    """One value of ``dist`` (floats rounded to 3 significant digits)."""
    if dist.kind == "choice":
        return dist.args[int(rng.integers(len(dist.args)))]
    lo, hi = dist.args
    if dist.kind == "int":
        return int(rng.integers(lo, hi, endpoint=True))
    if dist.kind == "loguniform":
        value = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    else:
        value = float(rng.uniform(lo, hi))
    return float(f"{value:.3g}")


def setting_id(settings: dict[str, Any]) -> str:
    """``key=value`` pairs joined by ``_`` ("base" when nothing varies); safe as a file name."""
    if not settings:
        return "base"
    text = "_".join(f"{key}={_format(value)}" for key, value in settings.items())
    if len(text) > 120:  # keep names usable; the hash keeps them distinct
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        text = f"{text[:110]}~{digest}"
    return text


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "x".join(_format(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return re.sub(r"[^A-Za-z0-9.+-]", "-", str(value))


def trial_dir(out: str | Path, trial: Trial) -> Path:
    """The run directory of ``trial`` in the sweep folder ``out``."""
    return Path(out) / TRIALS_DIR / trial.id


def trial_state(out: str | Path, trial: Trial) -> str:
    """ "done", "partial", "failed" or "pending" (see the module docstring).

    Raises `HandgradError` if the directory holds a run with other settings (the spec
    changed since): finished results must never be silently mixed with new ones.
    """
    path = trial_dir(out, trial)
    if (path / ERROR_FILE).is_file():
        return "failed"
    if not (path / "config.json").is_file():
        return "pending"
    saved = read_json(path / "config.json")
    expected = json.loads(json.dumps(trial.config))
    if saved != expected:
        diff = sorted(k for k in set(saved) | set(expected) if saved.get(k) != expected.get(k))
        key = diff[0]
        raise HandgradError(
            f"{path} holds a run with other settings ({key}: {saved.get(key)!r} there, "
            f"{expected.get(key)!r} now); the spec changed: choose another out directory "
            "or delete that folder"
        )
    return "done" if (path / "summary.json").is_file() else "partial"


def read_error(out: str | Path, trial: Trial) -> str | None:
    """The one-line error a failed trial left, or None."""
    path = trial_dir(out, trial) / ERROR_FILE
    return path.read_text().strip() if path.is_file() else None


def run_trial(trial: Trial, out: str, data_dir: str | None = None) -> TrialResult:
    """Run (or resume, or skip if done) one trial; never raises for a failing run.

    Any exception of the training is caught: it is written to ``error.txt`` (one line)
    and ``log.txt`` (the traceback) and returned as a "failed" result. Only an
    interruption (KeyboardInterrupt, e.g. SIGTERM during training) propagates, leaving
    the checkpoint for the next sweep to resume from.
    """
    start = time.perf_counter()
    path = trial_dir(out, trial)
    experiment = get_experiment(trial.command)
    try:
        state = trial_state(out, trial)
    except HandgradError as e:
        return TrialResult(trial.id, "failed", 0.0, error=str(e))
    if state == "done":
        return TrialResult(trial.id, "done", 0.0)
    resume = state == "partial" and (path / CHECKPOINT_NAME).is_file()
    path.mkdir(parents=True, exist_ok=True)
    (path / ERROR_FILE).unlink(missing_ok=True)
    with open(path / LOG_FILE, "a" if resume else "w") as log_file:

        def log(line: str) -> None:
            log_file.write(line + "\n")
            log_file.flush()

        try:
            try:
                _train(experiment, trial.config, path, data_dir, resume, log)
            except HandgradError as e:
                if not resume:
                    raise
                log(f"could not resume ({e}); starting over")
                resume = False
                _train(experiment, trial.config, path, data_dir, False, log)
        except MachineFault:  # a full or read-only disk stops the sweep
            raise
        except Exception as e:
            log_file.write(traceback.format_exc())
            message = " ".join(f"{type(e).__name__}: {e}".split())
            (path / ERROR_FILE).write_text(message + "\n")
            return TrialResult(
                trial.id, "failed", time.perf_counter() - start, resume, error=message
            )
    return TrialResult(trial.id, "done", time.perf_counter() - start, resume)


def _train(
    experiment: Experiment,
    config: dict[str, Any],
    out: Path,
    data_dir: str | None,
    resume: bool,
    log: Callable[[str], None],
) -> None:
    """Train the run ``out`` with the settings ``config`` (its config.json): continue it
    from its checkpoint if ``resume``, else replace any partial run there."""
    options = RunOptions(
        data_dir=data_dir, progress=False, overwrite=not resume, resume=resume, log=log
    )
    experiment.train(experiment.config(**config), out, options)
