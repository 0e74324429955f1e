"""Training checkpoints: everything needed to continue a run bit-for-bit.

A checkpoint is one ``.npz`` file (no pickles) holding, under prefixed names:

    model/<name>       parameters and buffers (`Module.state_dict`)
    optim/<name>       optimiser state (lr, step count, momentum / Adam moments)
    sched/<name>       schedule position
    rng/<name>         each Generator's bit-generator state, as a JSON string: the
                       loop's own (e.g. shuffling) and every one inside the model
                       (e.g. dropout masks), so a resumed run draws the same numbers
    meta/epoch         epochs completed
    meta/metrics       the metrics logged so far, as a JSON string
    progress/…         only when training stopped inside an epoch (Ctrl-C, SIGTERM): that
                       epoch's batch order, the batches done and the loop's running sums

It is written with `handgrad.io.atomic_write`: the previous checkpoint stays in place,
complete, until the new one has been flushed to disk and renamed over it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.errors import HandgradError
from handgrad.nn.module import Module
from handgrad.optim import Optimizer, Schedule
from handgrad.training.provenance import PROVENANCE_NAME
from handgrad.training.runs import (
    Run,
    load_arrays,
    read_json,
    save_arrays,
    to_jsonable,
    write_json,
)

CHECKPOINT_NAME = "checkpoint.npz"


@dataclass
class EpochProgress:
    """How far the current epoch has got: its batch order (m,), the number of batches
    done, and the training loop's running sums (e.g. total loss), so that an epoch
    interrupted after any step resumes exactly where it stopped."""

    order: np.ndarray
    step: int = 0
    sums: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingState:
    """What a training loop needs to save and restore, besides its data."""

    model: Module
    optimizer: Optimizer
    schedule: Schedule
    rngs: dict[str, np.random.Generator]
    epoch: int = 0
    metrics: list[dict[str, Any]] = field(default_factory=list)
    progress: EpochProgress | None = None
    # Not saved: where `handgrad.training.loop` writes checkpoints, and whether a stop was
    # asked for.
    checkpoint_path: Path | None = None
    stop_requested: bool = False

    def position(self) -> str:
        """Where training stands, e.g. "after epoch 3 and 1513 steps of the next"."""
        return _position(self.epoch, self.progress.step if self.progress is not None else 0)

    def all_rngs(self) -> dict[str, np.random.Generator]:
        """The loop's Generators plus those held by the model's layers (e.g. dropout)."""
        rngs = dict(self.rngs)
        for i, module in enumerate(self.model.modules()):
            for attr, value in vars(module).items():
                if isinstance(value, np.random.Generator):
                    rngs[f"model.{i}.{attr}"] = value
        return rngs

    def save(self, path: str | Path) -> None:
        """Write the checkpoint atomically to ``path``."""
        arrays: dict[str, np.ndarray] = {}
        for prefix, state in (
            ("model", self.model.state_dict()),
            ("optim", self.optimizer.state_dict()),
            ("sched", self.schedule.state_dict()),
        ):
            arrays.update({f"{prefix}/{k}": v for k, v in state.items()})
        for name, rng in self.all_rngs().items():
            arrays[f"rng/{name}"] = np.array(json.dumps(rng.bit_generator.state))
        arrays["meta/epoch"] = np.array(self.epoch)
        arrays["meta/metrics"] = np.array(json.dumps(to_jsonable(self.metrics)))
        if self.progress is not None:
            arrays["progress/order"] = self.progress.order
            arrays["progress/step"] = np.array(self.progress.step)
            arrays["progress/sums"] = np.array(json.dumps(to_jsonable(self.progress.sums)))
        save_arrays(path, arrays)

    def load(self, path: str | Path) -> None:
        """Restore everything from a checkpoint written by `save`.

        Raises `HandgradError` naming the file if it is unreadable or does not fit
        this model and optimiser; then nothing has been changed.
        """
        arrays = load_arrays(path)

        def part(prefix: str) -> dict[str, np.ndarray]:
            n = len(prefix) + 1
            return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}

        try:
            rngs = self.all_rngs()
            rng_states = {n: json.loads(str(part("rng")[n])) for n in rngs}
            for name, rng in rngs.items():  # validate each state on a scratch generator
                type(rng.bit_generator)().state = rng_states[name]
            epoch = int(arrays["meta/epoch"])
            metrics = json.loads(str(arrays["meta/metrics"]))
            progress = None
            if "progress/order" in arrays:
                order = arrays["progress/order"]
                if order.ndim != 1 or order.dtype.kind not in "iu":
                    raise ValueError("progress/order is not a 1-D integer array")
                progress = EpochProgress(
                    order,
                    int(arrays["progress/step"]),
                    dict(json.loads(str(arrays["progress/sums"]))),
                )
            self.model.load_state_dict(part("model"))
            self.optimizer.load_state_dict(part("optim"))
            self.schedule.load_state_dict(part("sched"))
        except HandgradError as e:
            raise HandgradError(f"{path}: {e}") from None
        except (KeyError, ValueError, TypeError, AttributeError, OverflowError) as e:
            raise HandgradError(
                f"{path}: incomplete or foreign checkpoint ({e}); start a new run instead"
            ) from None
        for name, rng in rngs.items():
            rng.bit_generator.state = rng_states[name]
        self.epoch = epoch
        self.metrics = metrics
        self.progress = progress


def _position(epoch: int, step: int) -> str:
    where = f"after epoch {epoch}"
    return f"{where} and {step} steps of the next" if step else where


def saved_run(path: str | Path) -> tuple[str, str] | None:
    """For a fault met at ``path``: what the run directory holding it keeps, and how to
    continue it — e.g. ("the checkpoint after epoch 3 in RUN is intact", "continue with
    `handgrad train mlp --resume RUN`"). The checkpoint is read whole (every member's
    CRC checked) before it is called intact; one that cannot be read is called unchanged,
    its state unknown. None if ``path`` is in no run directory.
    """
    path = Path(path)
    run_dir = next(
        (d for d in [path, *path.parents][:3] if os.path.isfile(d / "config.json")), None
    )
    if run_dir is None:
        return None
    try:
        model = read_json(run_dir / "config.json")["model"]
    except (HandgradError, OSError, KeyError, TypeError):
        return None
    checkpoint, again = run_dir / CHECKPOINT_NAME, "run the command again with --overwrite"
    resume = f"continue with `handgrad train {model} --resume {run_dir}`"
    if not os.path.lexists(checkpoint):
        return f"{run_dir} holds no checkpoint yet", again
    try:
        arrays = load_arrays(checkpoint)
        step = int(arrays["progress/step"]) if "progress/step" in arrays else 0
        where = _position(int(arrays["meta/epoch"]), step)
    except OSError:  # the machine's fault, e.g. permission denied: the file may be fine
        return (
            f"{checkpoint} was not changed (unreadable now: whether it is whole is unknown)",
            resume,
        )
    except (HandgradError, KeyError, TypeError, ValueError):
        return f"{checkpoint} is damaged", again
    return f"the checkpoint {where} in {run_dir} is intact", resume


def changed_settings(saved: dict[str, Any], config: dict[str, Any]) -> dict[str, list[Any]]:
    """The settings of ``config`` that differ from the ``saved`` config.json, as
    {name: [saved value, new value]} (JSON values; a setting the saved file lacks, added
    by a later version, is not a change)."""
    new = json.loads(json.dumps(to_jsonable(config)))
    return {k: [saved[k], v] for k, v in new.items() if k in saved and saved[k] != v}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def start_or_resume(
    state: TrainingState,
    out: str | Path,
    config: dict[str, Any],
    *,
    resume: bool = False,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
    provenance: dict[str, Any] | None = None,
) -> Run:
    """Open the run directory ``out`` for a training loop.

    A new run writes config.json (refusing an existing run unless ``overwrite``); with
    ``resume``, ``state`` is restored from ``out/checkpoint.npz`` and the run continues
    where it stopped (after its last step, if it was stopped inside an epoch), which it
    tells ``log``. ``config`` is then the config to continue with: more ``epochs``
    than the run has done extend it (fewer is a one-line error), and any setting that
    differs from config.json is written there. Either way the session is appended to
    history.jsonl (with the changed settings) and ``provenance`` is written to
    provenance.json (`handgrad.training.provenance`).
    """
    if not resume:
        run = Run(out, config, overwrite=overwrite)
        event: dict[str, Any] = {"event": "start", "epochs": config.get("epochs")}
    else:
        path = Path(out) / CHECKPOINT_NAME
        if not path.is_file():
            raise HandgradError(
                f"{out} has no {CHECKPOINT_NAME} to resume from; start the run again instead"
            )
        state.load(path)
        total = config.get("epochs")
        if total is not None and total < state.epoch:
            raise HandgradError(
                f"{out} has already trained {state.epoch} epochs; --epochs {total} would go "
                f"back; give --epochs ≥ {state.epoch} (more to extend the run)"
            )
        changes = changed_settings(read_json(Path(out) / "config.json"), config)
        more = state.progress is not None or (total is not None and total > state.epoch)
        run = Run.reopen(out, state.metrics, config, more_to_train=more)
        event = {"event": "resume", "after_epoch": state.epoch, "epochs": total}
        if state.progress is not None:
            event["after_steps"] = state.progress.step
        event["changes"] = changes
        if log is not None:
            changed = ", ".join(f"{k} {old} → {new}" for k, (old, new) in changes.items())
            log(f"resuming {out} {state.position()}" + (f" ({changed})" if changed else ""))
    event["time"] = _now()
    if provenance is not None:
        write_json(run.file(PROVENANCE_NAME), provenance)
        event["provenance"] = provenance
    run.record(**event)
    return run
