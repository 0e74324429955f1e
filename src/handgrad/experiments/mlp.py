"""Train the MLP classifier on MNIST / Fashion-MNIST into a run directory.

The defaults are the reference run of the assignment: 784-50-10 ReLU MLP, SGD with
lr 0.1 decayed ×0.1 every 20 epochs (StepLR), batch 16, 60 epochs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from handgrad.checkpoint import TrainingState, start_or_resume
from handgrad.data.mnist import ImageDataset, load_dataset
from handgrad.errors import HandgradError
from handgrad.fast import DEFAULT_ENGINE
from handgrad.loop import check_finite, epoch_batches, run_epochs
from handgrad.models.mlp import MLP
from handgrad.nn.losses import SoftmaxCrossEntropy
from handgrad.numerics import locate_nonfinite
from handgrad.optim import SGD, Adam, ConstantLR, CosineLR, Optimizer, Schedule, StepLR
from handgrad.runs import Run, load_arrays, save_arrays, write_json
from handgrad.runs import load_config as load_run_config


@dataclass
class MLPConfig:
    """Every setting of an MLP run; saved as config.json in the run directory."""

    dataset: str = "mnist"
    hidden: list[int] = field(default_factory=lambda: [50])
    activation: str = "relu"
    dropout: float = 0.0
    batchnorm: bool = False
    init: str = "uniform"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "step"
    step: int = 20
    gamma: float = 0.1
    batch_size: int = 16
    epochs: int = 60
    seed: int = 0
    validation: int = 0
    standardize: bool = False
    train_subset: int = 0
    model: str = "mlp"

    def validate(self, n_train: int | None = None) -> None:
        """Raise `HandgradError` for settings that cannot work."""
        if self.epochs < 1:
            raise HandgradError(f"--epochs must be ≥ 1, got {self.epochs}")
        if self.batch_size < 1:
            raise HandgradError(f"--batch-size must be ≥ 1, got {self.batch_size}")
        if n_train is not None and self.batch_size > n_train:
            raise HandgradError(
                f"--batch-size {self.batch_size} is larger than the training set "
                f"({n_train} examples); use ≤ {n_train}"
            )
        if not (self.lr > 0):
            raise HandgradError(f"--lr must be a positive number, got {self.lr}")
        if not 0 <= self.dropout < 1:
            raise HandgradError(f"--dropout must be in [0, 1), got {self.dropout}")
        if any(h < 1 for h in self.hidden):
            raise HandgradError(f"--hidden sizes must all be ≥ 1, got {self.hidden}")
        if self.optimizer not in ("sgd", "adam"):
            raise HandgradError(f"unknown optimizer {self.optimizer!r}; choose sgd or adam")
        if self.schedule not in ("step", "cosine", "constant"):
            raise HandgradError(
                f"unknown schedule {self.schedule!r}; choose step, cosine or constant"
            )


def build_model(config: MLPConfig, n_in: int, n_out: int) -> MLP:
    return MLP(
        [n_in, *config.hidden, n_out],
        activation=config.activation,
        dropout=config.dropout,
        batchnorm=config.batchnorm,
        seed=np.random.default_rng([config.seed, 0]),
        init=config.init,
    )


def build_optimizer(config: MLPConfig, model: MLP) -> tuple[Optimizer, Schedule]:
    params = model.parameters()
    if config.optimizer == "sgd":
        opt: Optimizer = SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    else:
        opt = Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.schedule == "step":
        sched: Schedule = StepLR(opt, step=config.step, gamma=config.gamma)
    elif config.schedule == "cosine":
        sched = CosineLR(opt, total_epochs=config.epochs)
    else:
        sched = ConstantLR(opt)
    return opt, sched


def accuracy(model: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of x whose predicted class equals y."""
    return float((model.predict(x) == y).mean())


def _train_epoch(
    model: MLP,
    loss_fn: SoftmaxCrossEntropy,
    opt: Optimizer,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    bar: tqdm,
    epoch: int = 0,
    state: TrainingState | None = None,
) -> tuple[float, float]:
    """One pass over (x, y) (or its rest, after a mid-epoch stop); returns (mean
    training loss, training accuracy). With ``state`` the epoch can stop and resume
    after any step (`handgrad.loop.epoch_batches`).

    Raises `handgrad.loop.Diverged` naming epoch, step and layer if the loss is NaN/Inf.
    """
    model.train()
    DEFAULT_ENGINE.prepare(model, opt, loss_fn)
    sums = {"loss": 0.0, "correct": 0}
    for step, (xb, yb) in epoch_batches(state, (x, y), batch_size, rng, sums):
        logits = model.forward(xb)
        loss = loss_fn.forward(logits, yb)
        check_finite(loss, "the loss", epoch, step, locate_nonfinite, model, xb)
        sums["loss"] += loss * xb.shape[0]
        sums["correct"] += np.count_nonzero(logits.argmax(axis=1) == yb)
        opt.zero_grad()
        dloss = opt.grad_scale  # lr for plain SGD: the update is then θ ← θ − g
        model.backward(loss_fn.backward(dloss), input_grad=False)  # x is data
        opt.step(grad_scale=dloss)
        if step % 200 == 0:
            bar.update(200)
    bar.update(max(0, bar.total - bar.n))
    return sums["loss"] / x.shape[0], sums["correct"] / x.shape[0]


def train_mlp(
    config: MLPConfig,
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    data: ImageDataset | None = None,
    progress: bool = True,
    overwrite: bool = False,
    resume: bool = False,
    log=print,
) -> dict[str, Any]:
    """Train an MLP as configured, writing the run directory ``out``; returns the summary.

    With ``resume`` the run continues from ``out/checkpoint.npz`` and ends with exactly
    the weights and metrics an uninterrupted run would have (see `resume_mlp`).
    """
    config.validate()
    if data is None:
        data = load_dataset(
            config.dataset,
            data_dir,
            validation=config.validation,
            standardize=config.standardize,
            seed=config.seed,
        )
    train = data.train
    x_train, y_train = train.x, train.y
    if config.train_subset:
        x_train, y_train = x_train[: config.train_subset], y_train[: config.train_subset]
    config.validate(n_train=x_train.shape[0])
    n_classes = len(data.classes)

    model = build_model(config, x_train.shape[1], n_classes)
    opt, sched = build_optimizer(config, model)
    shuffle_rng = np.random.default_rng([config.seed, 1])
    state = TrainingState(model, opt, sched, {"shuffle": shuffle_rng})
    run = start_or_resume(state, out, asdict(config), resume=resume, overwrite=overwrite)
    if resume:
        log(f"resuming {out} {state.position()}")
    loss_fn = SoftmaxCrossEntropy()
    eval_split = data.val if data.val is not None else data.test
    eval_name = "val" if data.val is not None else "test"
    n_batches = -(-x_train.shape[0] // config.batch_size)

    def train_epoch(epoch: int) -> dict[str, float]:
        with tqdm(
            total=n_batches,
            desc=f"epoch {epoch}/{config.epochs}",
            leave=False,
            disable=not progress,
            unit="batch",
        ) as bar:
            loss, acc = _train_epoch(
                model,
                loss_fn,
                opt,
                x_train,
                y_train,
                config.batch_size,
                shuffle_rng,
                bar,
                epoch,
                state,
            )
        return {"train_loss": loss, "train_acc": acc}

    def describe(r: dict[str, Any]) -> str:
        return (
            f"epoch {r['epoch']:3d}/{config.epochs}  lr {r['lr']:.4g}  loss {r['train_loss']:.4f}"
            f"  train {100 * r['train_acc']:.2f}%  {eval_name} {100 * r[f'{eval_name}_acc']:.2f}%"
            f"  {r['seconds']:.1f}s"
        )

    run_epochs(
        state,
        run,
        config.epochs,
        train_epoch,
        lambda: {f"{eval_name}_acc": accuracy(model, eval_split.x, eval_split.y)},
        describe,
        log,
        batch_size=config.batch_size,
    )

    save_arrays(run.file("weights.npz"), model.state_dict())
    pred = model.predict(data.test.x)
    test_acc = float((pred == data.test.y).mean())
    _figures(run, data, pred, state.metrics)
    summary = {
        "dataset": config.dataset,
        "test_acc": test_acc,
        "epochs": config.epochs,
        "train_seconds": sum(r["seconds"] for r in state.metrics),
        "reference_test_acc": 0.9518 if config.dataset == "mnist" else None,
    }
    write_json(run.file("summary.json"), summary)  # last: a run with a summary is complete
    log(f"test accuracy {100 * test_acc:.2f}%  ({run.path})")
    return summary


def _figures(run: Run, data: ImageDataset, pred: np.ndarray, metrics: list[dict]) -> None:
    """The loss curve, confusion matrix and misclassified digits, from test predictions."""
    from handgrad.plots import mlp as plots

    plots.loss_curve(metrics, run.file("loss_curve.png"))
    plots.confusion_matrix(data.test.y, pred, data.classes, run.file("confusion_matrix.png"))
    plots.misclassified(
        data.test.x,
        data.test.y,
        pred,
        data.classes,
        data.image_shape,
        run.file("misclassified.png"),
    )


def load_config(run_dir: str | Path) -> MLPConfig:
    """The `MLPConfig` saved in a run directory."""
    return load_run_config(run_dir, MLPConfig, "mlp")


def resume_mlp(run_dir: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Continue an interrupted MLP run from its last checkpoint, with its saved settings."""
    return train_mlp(load_config(run_dir), run_dir, resume=True, **kwargs)


def evaluate_run(run_dir: str | Path, *, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Re-evaluate the saved weights of an MLP run on its test set."""
    run_dir = Path(run_dir)
    config = load_config(run_dir)
    data = load_dataset(config.dataset, data_dir, standardize=config.standardize)
    model = build_model(config, data.test.x.shape[1], len(data.classes))
    model.load_state_dict(load_arrays(run_dir / "weights.npz"))
    return {"dataset": config.dataset, "test_acc": accuracy(model, data.test.x, data.test.y)}
