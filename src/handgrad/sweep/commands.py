"""The training commands a sweep can run, and how each is called inside a trial.

A `SweepCommand` ties a ``command = "..."`` of a sweep spec to its config dataclass and
training function (imported only when a trial needs them) and names the metrics a
sweep reports by default: one headline final metric (a key of summary.json) and two
per-epoch curves (keys of metrics.jsonl), a loss and an accuracy or quality.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handgrad.errors import HandgradError


@dataclass(frozen=True)
class SweepCommand:
    """One sweepable training command."""

    name: str
    module: str  # where the config class and training function live
    config_class: str
    train_function: str
    metric: str  # headline final metric, a key of summary.json
    curves: tuple[str, ...]  # per-epoch keys of metrics.jsonl drawn with a band over seeds
    uses_data_dir: bool  # trains on image files found through --data-dir / $HANDGRAD_DATA

    def config_type(self) -> type:
        """The config dataclass (imports the experiment module)."""
        return getattr(importlib.import_module(self.module), self.config_class)

    def _train(self) -> Callable[..., dict[str, Any]]:
        return getattr(importlib.import_module(self.module), self.train_function)

    def make_config(self, settings: dict[str, Any]) -> Any:
        """The validated config of one trial; settings left out keep the command's defaults.

        Raises `HandgradError` if a setting cannot work (the config's own validation).
        """
        config = self.config_type()(**settings)
        if hasattr(config, "resolve"):  # VAE: fill dataset-dependent defaults, validates
            return config.resolve()
        config.validate()
        return config

    def config_dict(self, settings: dict[str, Any]) -> dict[str, Any]:
        """`make_config` as the plain dict the run writes to config.json."""
        return dataclasses.asdict(self.make_config(settings))

    def train(
        self,
        config: dict[str, Any],
        out: Path,
        *,
        data_dir: str | None,
        resume: bool,
        log: Callable[[str], None],
    ) -> dict[str, Any]:
        """Train the run ``out`` with settings ``config``; returns its summary.

        ``resume`` continues from ``out/checkpoint.npz``; otherwise any previous partial
        run in ``out`` is replaced.
        """
        cfg = self.config_type()(**config)
        kwargs: dict[str, Any] = {"log": log}
        if self.uses_data_dir:
            kwargs["data_dir"] = data_dir
        if self.name == "mlp":
            kwargs["progress"] = False
        if resume:
            kwargs["resume"] = True
        else:
            kwargs["overwrite"] = True
        return self._train()(cfg, out, **kwargs)


COMMANDS: dict[str, SweepCommand] = {
    c.name: c
    for c in (
        SweepCommand(
            "mlp",
            "handgrad.experiments.mlp",
            "MLPConfig",
            "train_mlp",
            metric="test_acc",
            curves=("train_loss", "test_acc"),
            uses_data_dir=True,
        ),
        SweepCommand(
            "multitask",
            "handgrad.experiments.multitask",
            "MultiTaskConfig",
            "train_multitask",
            metric="test_acc_b",
            curves=("train_loss", "test_acc_b"),
            uses_data_dir=False,
        ),
        SweepCommand(
            "vae",
            "handgrad.experiments.vae",
            "VAEConfig",
            "train_vae",
            metric="test_neg_elbo",
            curves=("train_neg_elbo", "test_neg_elbo"),
            uses_data_dir=True,
        ),
    )
}


def get_command(name: Any, where: str = "command") -> SweepCommand:
    """The `SweepCommand` called ``name``; a one-line `HandgradError` naming ``where`` if none."""
    if name not in COMMANDS:
        raise HandgradError(
            f"{where}: unknown command {name!r}; choose one of {', '.join(sorted(COMMANDS))}"
        )
    return COMMANDS[name]
