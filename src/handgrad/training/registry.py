"""The registry of experiments: the built-in ones and any a user adds.

Three ways to add an `handgrad.training.experiment.Experiment`:

* in Python, before using it: ``handgrad.training.registry.register(EXPERIMENT)``;
* from an installed package: an entry point in the group ``handgrad.experiments``
  naming the Experiment object, e.g. in pyproject.toml::

      [project.entry-points."handgrad.experiments"]
      logreg = "mypackage.logreg:EXPERIMENT"

* for one shell or job: ``HANDGRAD_EXPERIMENTS=mypackage.logreg`` (comma-separated
  modules, each defining ``EXPERIMENT``). Worker processes (sweeps) inherit it.

The command line, sweeps and ``handgrad reproduce`` list `experiments()`.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points
from pathlib import Path

from handgrad.errors import HandgradError
from handgrad.training.experiment import Experiment
from handgrad.training.runs import read_json

BUILTIN = ("handgrad.experiments.multitask", "handgrad.experiments.mlp", "handgrad.experiments.vae")
ENTRY_POINT_GROUP = "handgrad.experiments"
ENV_VARIABLE = "HANDGRAD_EXPERIMENTS"

_registered: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add ``experiment`` (replacing one of the same name); returns it."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"expected an Experiment, got {type(experiment).__name__}")
    _registered[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    """Remove the experiment ``name`` added with `register` (no error if absent)."""
    _registered.pop(name, None)


def _from_module(module: str) -> Experiment:
    try:
        return importlib.import_module(module).EXPERIMENT
    except (ImportError, AttributeError) as e:
        raise HandgradError(
            f"{ENV_VARIABLE}: cannot load an experiment from {module!r} ({e}); name a "
            "module that defines EXPERIMENT"
        ) from None


def experiments() -> dict[str, Experiment]:
    """Every experiment by name: built-in, entry points, $HANDGRAD_EXPERIMENTS, registered."""
    found = [_from_module(m) for m in BUILTIN]
    found += [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    env = os.environ.get(ENV_VARIABLE, "")
    found += [_from_module(m.strip()) for m in env.split(",") if m.strip()]
    found += list(_registered.values())
    return {e.name: e for e in found}


def get(name: object, where: str = "command") -> Experiment:
    """The experiment called ``name``; a one-line `HandgradError` naming ``where`` if none."""
    known = experiments()
    if name not in known:
        raise HandgradError(
            f"{where}: unknown command {name!r}; choose one of {', '.join(sorted(known))}"
        )
    return known[name]  # type: ignore[index]


def of_run(run_dir: str | Path) -> Experiment:
    """The experiment that wrote the run directory ``run_dir`` (its config.json's model)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise HandgradError(
            f"{run_dir} is not a handgrad run directory (no config.json); "
            "pass a directory written by a training command"
        )
    raw = read_json(path)
    model = raw.get("model") if isinstance(raw, dict) else None
    return get(model, f"{path}: model")
