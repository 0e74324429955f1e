"""A fourth experiment, written as a user would: logistic regression on generated data.

This one file is the whole experiment; it is registered for the tests by setting
``HANDGRAD_EXPERIMENTS=tests.experiments.logreg`` (`handgrad.training.registry`), and
then ``handgrad train logreg`` (its options generated from `LogRegConfig`), ``--resume``,
``handgrad sweep`` (``command = "logreg"``) and ``handgrad reproduce`` (its part "logreg")
all work with no other edit. tests/experiments/test_logreg.py proves it.

The model: softmax regression p(y | x) = softmax(x θᵀ + b) on k Gaussian blobs in d
dimensions, trained by mini-batch SGD on the mean cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.fast import engine as engines
from handgrad.nn.linear import Linear
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.optim import OPTIMIZERS
from handgrad.training import options
from handgrad.training.checkpoint import TrainingState
from handgrad.training.experiment import Experiment, ExperimentConfig, RunOptions
from handgrad.training.loop import check_finite, epoch_batches, run_epochs
from handgrad.training.numerics import locate_nonfinite
from handgrad.training.optimizers import build_optimizer
from handgrad.training.options import option
from handgrad.training.parts import Context, Part, Verdict, bound
from handgrad.training.provenance import generated_data
from handgrad.training.runs import save_arrays, write_json


@dataclass
class LogRegConfig(ExperimentConfig):
    """Every setting of a logistic-regression run (config.json)."""

    classes: int = option(3, rule=options.positive_int, group="data", help="number of blobs k")
    features: int = option(5, rule=options.positive_int, group="data", help="dimension d")
    samples: int = option(600, rule=options.positive_int, group="data", help="points (¾ train)")
    spread: float = option(
        0.7, rule=options.positive_float, group="data", help="std of each blob around its centre"
    )
    optimizer: str = option("sgd", choices=OPTIMIZERS)
    lr: float = options.lr(0.5)
    batch_size: int = options.batch_size(20)
    epochs: int = options.epochs(6)
    seed: int = options.seed()
    engine: str = options.engine()
    model: str = option("logreg", cli=False)


def make_blobs(config: LogRegConfig) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` points x (n, d) float32 around ``classes`` random unit-scale centres,
    and their labels y (n,)."""
    rng = np.random.default_rng([config.seed, 7])
    centres = rng.standard_normal((config.classes, config.features)) * 2
    y = rng.integers(0, config.classes, config.samples)
    x = centres[y] + config.spread * rng.standard_normal((config.samples, config.features))
    return x.astype(np.float32), y


def train_logreg(
    config: LogRegConfig, out: str | Path, options: RunOptions = RunOptions()
) -> dict[str, Any]:
    """Train into the run directory ``out``; returns summary.json's dict (test_acc)."""
    config = config.resolve()
    x, y = make_blobs(config)
    n_train = 3 * config.samples // 4
    model = Linear(config.features, config.classes, rng=np.random.default_rng([config.seed, 0]))
    opt, schedule = build_optimizer(model.parameters(), optimizer=config.optimizer, lr=config.lr)
    shuffle = np.random.default_rng([config.seed, 1])
    state = TrainingState(model, opt, schedule, {"shuffle": shuffle})
    blobs = generated_data("blobs", seed=config.seed, samples=config.samples)
    step = engines.get(config.engine).step(model, SoftmaxCrossEntropy(), opt)
    run = options.open_run(state, out, config, engine=step.used, data=blobs)

    def train_epoch(epoch: int) -> dict[str, float]:
        sums = {"loss": 0.0}
        train = (x[:n_train], y[:n_train])
        for i, (xb, yb) in epoch_batches(state, train, config.batch_size, shuffle, sums):
            loss = step.forward(xb, yb).loss  # zero the gradients, forward, loss
            check_finite(loss, "the loss", epoch, i, locate_nonfinite, model, xb)
            step.update()  # backward, optimiser step
            sums["loss"] += loss * xb.shape[0]
        return {"train_loss": sums["loss"] / n_train}

    def accuracy() -> dict[str, float]:
        return {"test_acc": float((model.forward(x[n_train:]).argmax(1) == y[n_train:]).mean())}

    def describe(row: dict[str, Any]) -> str:
        return f"epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  test {row['test_acc']:.3f}"

    metrics = run_epochs(state, run, config.epochs, train_epoch, accuracy, describe, options.log)
    save_arrays(run.file("weights.npz"), model.state_dict())
    summary = {"test_acc": metrics[-1]["test_acc"], "epochs": config.epochs}
    write_json(run.file("summary.json"), summary)
    options.log(f"test accuracy {summary['test_acc']:.3f} ({run.path})")
    return summary


def reproduce_parts(scale: str) -> list[Part]:
    """One part at every scale: a short run must separate the blobs."""
    config = LogRegConfig(epochs=6 if scale == "full" else 2)

    def run(ctx: Context, d: Path) -> Verdict:
        acc = train_logreg(config, d, ctx.run_options())["test_acc"]
        ok, rel = bound(acc, 0.8, at_least=True)
        return ok, f"test accuracy {acc:.1%} {rel} 80%", {}

    return [Part("logreg", "3.1", "Logistic regression on blobs", "test accuracy ≥ 80%", run)]


EXPERIMENT = Experiment(
    name="logreg",
    help="softmax regression on generated Gaussian blobs (a test experiment)",
    config=LogRegConfig,
    train=train_logreg,
    metric="test_acc",
    curves=("train_loss", "test_acc"),
    reproduce_parts=reproduce_parts,
)
