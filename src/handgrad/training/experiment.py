"""The experiment interface: what every trainable experiment provides, in one shape.

An experiment is one file (`handgrad.experiments.mlp` is the model) that defines

* a config dataclass, subclass of `ExperimentConfig`, whose fields are declared with
  `handgrad.training.options.option`: the single source of defaults, rules, choices
  and help;
* a training function ``train(config, out, options: RunOptions) -> summary`` that
  writes a run directory (`handgrad.training.runs`) through the shared loop
  (`handgrad.training.loop.run_epochs`);
* an ``EXPERIMENT = Experiment(...)`` tying them together with the metric a sweep
  reports, and optionally how to re-evaluate a run and its parts of ``handgrad
  reproduce``;

and is registered (`handgrad.training.registry`). The command line (``handgrad train
NAME``, ``--resume``, ``handgrad evaluate``), the sweeps and ``handgrad reproduce`` are
generated from it: adding an experiment touches no other module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Self

from handgrad.errors import HandgradError
from handgrad.training.checkpoint import TrainingState, start_or_resume
from handgrad.training.options import option_of
from handgrad.training.runs import Run, load_config

if TYPE_CHECKING:
    from handgrad.reproduce.parts import Part


class ExperimentConfig:
    """Base of every experiment's config dataclass: validation from the fields' options.

    Subclasses are dataclasses whose fields use `handgrad.training.options.option`.
    `resolve` is what every consumer calls before training: override it to fill
    settings that depend on others (the VAE's dataset defaults), then validate.
    """

    def validate(self) -> None:
        """Raise `HandgradError` naming the first setting that breaks its rule or choices."""
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            meta = option_of(field)
            value = getattr(self, field.name)
            if meta is None or value is None:
                continue
            if meta["choices"] is not None and value not in meta["choices"]:
                raise HandgradError(
                    f"unknown {field.name} {value!r}; choose one of {list(meta['choices'])}"
                )
            rule = meta["rule"]
            if rule is not None and not rule.ok(value):
                raise HandgradError(f"{field.name} must be {rule.text}, got {value}")

    def resolve(self) -> Self:
        """The config ready to train: settings left to be decided filled in, validated."""
        self.validate()
        return self


def check_batch_fits(batch_size: int, n_train: int) -> None:
    """Raise `HandgradError` if a batch is larger than the training set (n_train rows)."""
    if batch_size > n_train:
        raise HandgradError(
            f"--batch-size {batch_size} is larger than the training set "
            f"({n_train} examples); use ≤ {n_train}"
        )


@dataclass(frozen=True)
class RunOptions:
    """How to run a training, the same for every experiment (what to train is the config).

    ``data_dir``: where image files are (experiments on generated data ignore it);
    ``progress``: show progress bars; ``overwrite``: replace a run already in the run
    directory; ``resume``: continue it from its checkpoint; ``log``: receives each line.
    """

    data_dir: str | Path | None = None
    progress: bool = True
    overwrite: bool = False
    resume: bool = False
    log: Callable[[str], None] = print

    def open_run(self, state: TrainingState, out: str | Path, config: Any) -> Run:
        """The run directory ``out`` for ``config`` (a dataclass), new or resumed as these
        options say (`handgrad.training.checkpoint.start_or_resume`)."""
        return start_or_resume(
            state,
            out,
            dataclasses.asdict(config),
            resume=self.resume,
            overwrite=self.overwrite,
            log=self.log,
        )


class TrainFunction(Protocol):
    """How every experiment trains: ``train(config, out, options)`` writes the run
    directory ``out`` and returns summary.json's dict."""

    def __call__(
        self, config: Any, out: str | Path, options: RunOptions = ...
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Experiment:
    """One trainable experiment (see the module docstring).

    ``name`` is the word of ``handgrad train NAME`` and the ``model`` key of the runs'
    config.json; ``metric`` (a key of summary.json) and ``curves`` (keys of
    metrics.jsonl) are what a sweep reports by default; ``uses_data_dir`` says the
    experiment reads image files (found through ``--data-dir`` / $HANDGRAD_DATA).
    ``evaluate(run_dir, data_dir)`` re-evaluates a finished run and returns a line to
    print; ``reproduce_parts(scale)`` lists its parts of ``handgrad reproduce`` at scale
    "full", "quick" or "smoke" (`handgrad.reproduce.parts`).
    """

    name: str
    help: str
    config: type[ExperimentConfig]
    train: TrainFunction
    metric: str
    curves: tuple[str, ...]
    uses_data_dir: bool = False
    evaluate: Callable[[Path, str | Path | None], str] | None = None
    reproduce_parts: Callable[[str], list[Part]] | None = None

    def make_config(self, settings: dict[str, Any]) -> ExperimentConfig:
        """The resolved, validated config of ``settings``; the others keep their defaults.

        Raises `HandgradError` naming a setting that cannot work.
        """
        return self.config(**settings).resolve()

    def load_config(self, run_dir: str | Path) -> ExperimentConfig:
        """The config saved in the run directory ``run_dir`` (config.json)."""
        return load_config(run_dir, self.config, self.name)

    def resume(
        self, run_dir: str | Path, options: RunOptions | None = None, **data: Any
    ) -> dict[str, Any]:
        """Continue the run ``run_dir`` from its last checkpoint, with its saved settings
        (``options.resume`` is implied); ``data`` as for the experiment's train function."""
        options = dataclasses.replace(options or RunOptions(), resume=True)
        return self.train(self.load_config(run_dir), run_dir, options, **data)
