"""Train the multi-task network on the synthetic two-task data, into a run directory.

Each epoch makes one shuffled pass of mini-batches (loss L = L_A + L_B, the network's
hand-derived backward, one optimiser step per batch), then evaluates both splits in eval
mode and logs, per split: task-A MSE = mean over rows and outputs of (ŷA − yA)² (note
L_A = (a/2) · MSE), task-B cross-entropy and task-B accuracy. The run directory gets
config.json, metrics.jsonl, checkpoint.npz, summary.json, weights.npz and curves.png.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.data.multitask import MultiTaskData, make_multitask
from handgrad.fast import Step
from handgrad.fast import engine as engines
from handgrad.models.multitask import MultiTaskNet
from handgrad.nn.losses import one_hot
from handgrad.optim import OPTIMIZERS
from handgrad.report.document import Heading, Paragraph, Table
from handgrad.report.sections import Sections, pct
from handgrad.training import options
from handgrad.training.checkpoint import TrainingState
from handgrad.training.experiment import (
    EvaluateOptions,
    Experiment,
    ExperimentConfig,
    RunOptions,
)
from handgrad.training.loop import check_finite, chunk_steps, run_epochs
from handgrad.training.numerics import locate_nonfinite
from handgrad.training.optimizers import build_optimizer
from handgrad.training.options import option
from handgrad.training.parts import Context, Part, Section, Verdict, bound
from handgrad.training.provenance import generated_data
from handgrad.training.runs import load_arrays, save_arrays, write_json


@dataclass
class MultiTaskConfig(ExperimentConfig):
    """Every setting of a multi-task run (written to config.json)."""

    optimizer: str = option("adam", choices=OPTIMIZERS)
    lr: float = options.lr(0.003)
    epochs: int = options.epochs(40)
    batch_size: int = options.batch_size(32)
    hidden: int = option(32, rule=options.positive_int, group="model", help="task-A hidden units h")
    p: float = option(
        0.1, rule=options.probability, group="model", help="dropout probability on task A"
    )
    seed: int = options.seed("seed of data, init and order")
    n_samples: int = option(4000, rule=options.positive_int, cli=False)
    n_features: int = option(10, rule=options.positive_int, cli=False)
    n_targets: int = option(4, rule=options.positive_int, cli=False)
    n_classes: int = option(4, rule=options.positive_int, cli=False)
    noise: float = option(0.1, rule=options.non_negative_float, cli=False)
    engine: str = options.engine()
    model: str = option("multitask", cli=False)


def evaluate(net: MultiTaskNet, x: np.ndarray, yA: np.ndarray, labels: np.ndarray) -> dict:
    """Eval-mode metrics of a split: mse_a, ce_b, acc_b (Python floats)."""
    net.forward(x, training=False)
    q = net.residuals
    losses = net.task_losses(q, yA, one_hot(labels, net.n_classes, net.dtype))
    diff = q.yhatA - yA
    return {
        "mse_a": float(np.mean(diff * diff)),
        "ce_b": losses.loss_b,
        "acc_b": float(np.mean(q.yhatB.argmax(axis=1) == labels)),
    }


def train_epoch(
    step: Step,
    data: MultiTaskData,
    batch_size: int,
    rng: np.random.Generator,
    epoch: int = 0,
    state: TrainingState | None = None,
) -> float:
    """One shuffled pass over the training split (or its rest, after a mid-epoch stop)
    with the network's training ``step`` (`handgrad.fast.Step`, from any engine);
    returns the mean training loss L, a chunk of batches at a time
    (`handgrad.training.loop.chunk_steps`). With ``state`` the epoch can stop and resume
    after any chunk.

    Raises `handgrad.training.loop.Diverged` (naming epoch, step and where) if L becomes NaN/Inf.
    """
    net = step.model
    net.train()
    sums = {"loss": 0.0, "count": 0}
    arrays = (data.x_train, data.yA_train, data.labels_train)
    for i, out, m, _ in chunk_steps(step, state, arrays, batch_size, rng, sums):
        check_finite(out.loss, "the loss", epoch, i, locate_nonfinite, net)
        sums["loss"] += out.loss * m
        sums["count"] += m
    return sums["loss"] / sums["count"]


def _describe(row: dict[str, Any]) -> str:
    return (
        f"epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  "
        f"task A mse {row['train_mse_a']:.4f}/{row['test_mse_a']:.4f}  "
        f"task B ce {row['train_ce_b']:.4f}/{row['test_ce_b']:.4f}  "
        f"acc {row['train_acc_b']:.4f}/{row['test_acc_b']:.4f}  (train/test)"
    )


DATA_SETTINGS = ("n_samples", "n_features", "n_targets", "n_classes", "noise", "seed")


def make_data(config: MultiTaskConfig) -> MultiTaskData:
    """The synthetic two-task data of ``config`` (the same settings give the same data)."""
    return make_multitask(
        config.n_samples,
        config.n_features,
        config.n_targets,
        config.n_classes,
        noise=config.noise,
        seed=config.seed,
    )


def data_provenance(config: MultiTaskConfig) -> dict[str, Any]:
    """Where the data came from: generated, with the settings that generate it again."""
    return generated_data("multitask", **{k: getattr(config, k) for k in DATA_SETTINGS})


def build_net(config: MultiTaskConfig, data: MultiTaskData) -> MultiTaskNet:
    """The network of ``config`` for ``data``, initialised from the config's seed (float32)."""
    return MultiTaskNet(
        data.n_features,
        config.hidden,
        data.n_targets,
        data.n_classes,
        p=config.p,
        seed=config.seed,
        dtype=np.float32,
    )


def _evaluate(run_dir: Path, options: EvaluateOptions) -> tuple[dict[str, Any], str]:
    """The saved weights on the run's test split, generated again from its config."""
    config = EXPERIMENT.load_config(run_dir)
    data = make_data(config)
    net = build_net(config, data)
    net.load_state_dict(load_arrays(run_dir / "weights.npz"))
    n = options.limit or data.x_test.shape[0]
    test = evaluate(net, data.x_test[:n], data.yA_test[:n], data.labels_test[:n])
    result = {**{f"test_{k}": v for k, v in test.items()}, "n_test": min(n, data.x_test.shape[0])}
    result["data"] = data_provenance(config)
    line = (
        f"test: task-B accuracy {test['acc_b']:.4f}, task-A MSE {test['mse_a']:.4f}, "
        f"task-B CE {test['ce_b']:.4f}"
    )
    return result, line


def train_multitask(
    config: MultiTaskConfig, out_dir: str | Path, options: RunOptions = RunOptions()
) -> dict[str, Any]:
    """Run the training described in the module docstring; returns the summary dict.

    With ``options.resume`` the run continues from ``out_dir/checkpoint.npz`` (see
    ``EXPERIMENT.resume``) and ends bit-identical to an uninterrupted run. The data is
    generated: ``options.data_dir`` and ``options.progress`` are unused.

    Uses the shared `handgrad.training.loop.run_epochs` (a checkpoint after every epoch, Ctrl-C /
    SIGTERM stop cleanly) with a constant learning rate.
    """
    config = config.resolve()
    engine = engines.get(config.engine)
    say = options.log
    data = make_data(config)
    net = build_net(config, data)
    optimizer, schedule = build_optimizer(
        net.parameters(), optimizer=config.optimizer, lr=config.lr
    )
    shuffle = np.random.default_rng(config.seed + 2)
    state = TrainingState(net, optimizer, schedule, {"shuffle": shuffle})
    step = engine.step(net, None, optimizer)
    run = options.open_run(state, out_dir, config, engine=step.used, data=data_provenance(config))

    def one_epoch(epoch: int) -> dict[str, Any]:
        loss = train_epoch(step, data, config.batch_size, shuffle, epoch, state)
        return {"train_loss": loss}

    def evaluate_splits() -> dict[str, Any]:
        row = {}
        for split in ("train", "test"):
            x, yA, labels = (getattr(data, f"{k}_{split}") for k in ("x", "yA", "labels"))
            row.update({f"{split}_{k}": v for k, v in evaluate(net, x, yA, labels).items()})
        return row

    history = run_epochs(
        state,
        run,
        config.epochs,
        one_epoch,
        evaluate_splits,
        _describe,
        log=say,
        batch_size=config.batch_size,
    )
    final = history[-1]
    summary = {
        "epochs": config.epochs,
        "train_seconds": sum(row["seconds"] for row in history),
        **{k: final[k] for k in sorted(final) if k.startswith(("train_", "test_"))},
    }
    save_arrays(run.file("weights.npz"), net.state_dict())
    from handgrad.plots.multitask import plot_curves

    plot_curves(history, run.file("curves.png"))
    write_json(run.file("summary.json"), summary)
    say(
        f"final test: task-B accuracy {summary['test_acc_b']:.4f}, "
        f"task-A MSE {summary['test_mse_a']:.4f}, task-B CE {summary['test_ce_b']:.4f} "
        f"({summary['train_seconds']:.1f} s of training); run saved in {run.path}"
    )
    return summary


# handgrad reproduce, 2.2: the settings at each scale, and the task-B accuracy that passes
REPRODUCE: dict[str, tuple[MultiTaskConfig, float]] = {
    "full": (MultiTaskConfig(), 0.90),
    "quick": (MultiTaskConfig(epochs=8, n_samples=2000), 0.75),  # chance is 1/4
    "smoke": (MultiTaskConfig(epochs=4, n_samples=800), 0.3),
}


PART = "multitask"  # its key: the directory of its run and its entry in reproduce.json


def reproduce_parts(scale: str) -> list[Part]:
    """2.2: the training demo at ``scale``, judged by its task-B test accuracy."""
    config, min_acc = REPRODUCE[scale]

    def run(ctx: Context, d: Path) -> Verdict:
        acc = train_multitask(config, d, ctx.run_options())["test_acc_b"]
        ok, rel = bound(acc, min_acc, at_least=True)
        return ok, f"task-B test accuracy {acc:.2%} {rel} {min_acc:.0%}", {}

    criterion = f"task-B test accuracy ≥ {min_acc:.0%} (chance: 1/classes)"
    return [Part(PART, "2.2", "Multi-task network: training demo", criterion, run)]


# --- its section of the report: the training demo that ends 2.2 ---------------------------

CAPTIONS = {"curves.png": "task-A MSE, task-B cross-entropy and accuracy per epoch"}


def write_section(report: Sections) -> None:
    """Add the training demo that ends 2.2 (after the gradient checks' part of it) to
    ``report``: the part's verdict, train and test losses and accuracy beside the noise
    floor and chance, its settings and its figures."""
    part = report.opened(
        Heading(4, "Training demo", "multitask"), PART, "The multi-task training demo"
    )
    if part is None:
        return None
    report.run_line(part)
    s = report.summary(part)
    if s is None:
        return None
    c = report.config(part)
    classes = c.get("n_classes")
    noise = c.get("noise")
    report.add(
        Table(
            ["Quantity", "Train", "Test", "Reference"],
            [
                [
                    "Task A: mean squared error",
                    f"{s['train_mse_a']:.4f}",
                    f"{s['test_mse_a']:.4f}",
                    f"noise floor σ² = {noise**2:.4f}" if noise is not None else "—",
                ],
                ["Task B: cross-entropy", f"{s['train_ce_b']:.4f}", f"{s['test_ce_b']:.4f}", "—"],
                [
                    "Task B: accuracy",
                    pct(s["train_acc_b"]),
                    pct(s["test_acc_b"]),
                    f"chance {pct(1 / classes)}" if classes else "—",
                ],
            ],
            numeric=(1, 2),
        ),
        Paragraph(
            f"{s['epochs']} epochs with {c.get('optimizer')} (lr {c.get('lr')}), batch "
            f"{c.get('batch_size')}, dropout p = {c.get('p')}, on {c.get('n_samples')} "
            "synthetic examples.",
            note=True,
        ),
    )
    report.figures(part, captions=CAPTIONS)
    return None


EXPERIMENT = Experiment(
    name="multitask",
    help="train the multi-task network (regression + classification) on synthetic data",
    config=MultiTaskConfig,
    train=train_multitask,
    metric="test_acc_b",
    curves=("train_loss", "test_acc_b"),
    evaluate=_evaluate,
    reproduce_parts=reproduce_parts,
    report=Section("2.2", write_section),
)
