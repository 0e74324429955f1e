"""The experiment interface: what every trainable experiment provides, in one shape.

An experiment is one file (`handgrad.experiments.mlp` is the model) that defines

* a config dataclass, subclass of `ExperimentConfig`, whose fields are declared with
  `handgrad.training.options.option`: the single source of defaults, rules, choices
  and help;
* a training function ``train(config, out, options: RunOptions) -> summary`` that
  writes a run directory (`handgrad.training.runs`) through the shared loop
  (`handgrad.training.loop.run_epochs`);
* an ``EXPERIMENT = Experiment(...)`` tying them together with the metric a sweep
  reports, and optionally how to re-evaluate a run, its parts of ``handgrad
  reproduce`` and its section of the report (`handgrad.training.parts`);

and is registered (`handgrad.training.registry`). The command line (``handgrad train
NAME``, ``--resume``, ``handgrad evaluate``), the sweeps and ``handgrad reproduce`` are
generated from it: adding an experiment touches no other module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

from handgrad.errors import HandgradError
from handgrad.training.options import flag_of, option_of
from handgrad.training.parts import Part, Section
from handgrad.training.provenance import data_folder
from handgrad.training.run_options import RunOptions
from handgrad.training.runs import load_config, write_json


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
class EvaluateOptions:
    """How to re-evaluate a run, the same for every experiment.

    ``data_dir``: where the image files are (default: the folder the run read, from its
    provenance.json); ``progress``: show progress bars; ``iwae``: importance samples K
    per test example for an estimate of log p(x) (experiments with a likelihood; 0:
    none); ``iwae_batch``: rows (examples × samples) computed at once, which bounds
    memory; ``limit``: evaluate the first N test examples only (0: all).
    """

    data_dir: str | Path | None = None
    progress: bool = True
    iwae: int = 0
    iwae_batch: int = 50_000
    limit: int = 0

    def data_folder(self, run_dir: str | Path) -> str | Path | None:
        """``data_dir`` if given, else the folder the run read (None for an old run);
        one-line `HandgradError` if that folder is gone."""
        if self.data_dir is not None:
            return self.data_dir
        folder = data_folder(run_dir)
        if folder is not None and not Path(folder).is_dir():
            raise HandgradError(
                f"{run_dir} read its data from {folder}, which no longer exists; pass "
                "--data-dir DIR naming a folder with the same files"
            )
        return folder


class EvaluateFunction(Protocol):
    """How an experiment re-evaluates a finished run: returns (the results, a line)."""

    def __call__(self, run_dir: Path, options: EvaluateOptions) -> tuple[dict[str, Any], str]: ...


EVALUATION_NAME = "evaluation.json"


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
    experiment reads image files (found through ``--data-dir`` / $HANDGRAD_DATA);
    ``has_likelihood``: its evaluate can estimate log p(x) (``EvaluateOptions.iwae``).
    ``evaluate(run_dir, options)`` re-evaluates a finished run and returns its results
    and a line to print (`evaluate_run` also writes them to evaluation.json);
    ``reproduce_parts(scale)`` lists its parts of ``handgrad reproduce`` at scale "full",
    "quick" or "smoke" (`handgrad.training.parts.Part`); ``report`` writes their section
    of the report from their results (`handgrad.training.parts.Section`; None: the
    report shows its parts generically, under "Other experiments").
    """

    name: str
    help: str
    config: type[ExperimentConfig]
    train: TrainFunction
    metric: str
    curves: tuple[str, ...]
    uses_data_dir: bool = False
    evaluate: EvaluateFunction | None = None
    has_likelihood: bool = False
    reproduce_parts: Callable[[str], list[Part]] | None = None
    report: Section | None = None

    def make_config(self, settings: dict[str, Any]) -> ExperimentConfig:
        """The resolved, validated config of ``settings``; the others keep their defaults.

        Raises `HandgradError` naming a setting that cannot work.
        """
        return self.config(**settings).resolve()

    def load_config(self, run_dir: str | Path) -> ExperimentConfig:
        """The config saved in the run directory ``run_dir`` (config.json)."""
        return load_config(run_dir, self.config, self.name)

    def resume(
        self,
        run_dir: str | Path,
        options: RunOptions | None = None,
        *,
        changes: dict[str, Any] | None = None,
        override: bool = False,
        **data: Any,
    ) -> dict[str, Any]:
        """Continue the run ``run_dir`` from its last checkpoint (``options.resume`` is
        implied); ``data`` as for the experiment's train function.

        ``changes`` are settings given for the continuation: ``epochs`` sets the total to
        reach (more than done extends a finished run; a schedule follows its formula
        with that total: StepLR continues exactly, cosine re-plans its horizon). Any other
        setting that differs from the run's config is a one-line `HandgradError` naming
        it, unless ``override``: then the run continues with it and its history records
        the change.
        """
        options = dataclasses.replace(options or RunOptions(), resume=True)
        saved = self.load_config(run_dir)
        config = apply_changes(saved, changes or {}, override, run_dir)
        return self.train(config, run_dir, options, **data)

    def evaluate_run(
        self, run_dir: str | Path, options: EvaluateOptions | None = None
    ) -> tuple[dict[str, Any], str]:
        """Re-evaluate the finished run ``run_dir``: its results (also written to its
        evaluation.json) and a line to print. One-line `HandgradError` if this
        experiment cannot re-evaluate or the run has no final weights."""
        if self.evaluate is None:
            raise HandgradError(f"{run_dir} is a {self.name} run, which cannot be re-evaluated")
        if options is not None and options.iwae and not self.has_likelihood:
            raise HandgradError(
                f"--iwae estimates a likelihood, which a {self.name} run does not have; "
                "leave it out"
            )
        if not (Path(run_dir) / "weights.npz").is_file():
            raise HandgradError(
                f"{run_dir} has no weights.npz (the run has not finished); finish it with "
                f"`handgrad train {self.name} --resume {run_dir}`"
            )
        results, line = self.evaluate(Path(run_dir), options or EvaluateOptions())
        write_json(Path(run_dir) / EVALUATION_NAME, results)
        return results, line


def apply_changes(
    saved: ExperimentConfig, changes: dict[str, Any], override: bool, run_dir: str | Path
) -> ExperimentConfig:
    """``saved`` with ``changes`` applied: ``epochs`` always, any other setting that
    differs only with ``override`` (else a one-line `HandgradError` naming each)."""
    fields = {f.name: f for f in dataclasses.fields(saved)}  # type: ignore[arg-type]
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise HandgradError(f"unknown setting(s) {', '.join(unknown)} for this run")
    differ = {k: v for k, v in changes.items() if v != getattr(saved, k)}
    refused = [k for k in differ if k != "epochs"]
    if refused and not override:
        said = ", ".join(
            f"{flag_of(fields[k])} {_text(differ[k])} (the run has {_text(getattr(saved, k))})"
            for k in refused
        )
        raise HandgradError(
            f"{said} differs from {run_dir}/config.json; leave it out to continue as "
            "configured, or add --override to change it (the run's history records it)"
        )
    return dataclasses.replace(saved, **differ).resolve()


def _text(value: Any) -> str:
    """A setting as typed on the command line: 0.1, 400,200, true."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)
