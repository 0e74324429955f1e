"""Train a VAE on 2-D data or MNIST into a run directory, and say what it learned.

Per epoch (metrics.jsonl): train and test −ELBO, reconstruction NLL and KL, in nats per
example (per point for 2-D data, per image for MNIST, summed over its pixels like the
PyTorch example), with β, the learning rate and the seconds the epoch took.

At the end (summary.json):
  * 2-D data: the test −ELBO next to the entropy of the true distribution (the lowest
    possible expected NLL) and the true density's own NLL on the same test points; the
    KL per latent dimension (≈ 0: posterior collapse, the latent is unused); and the
    relative Frobenius distance ‖Ĉ − Σ‖_F / ‖Σ‖_F between the covariance Ĉ of samples
    drawn with decoder noise and the true Σ (and the same for decoder means alone).
  * images: the test −ELBO and its terms, the active latent units, seconds per epoch.

Figures: samples vs data (2-D), reconstructions and samples (images), the latent
space, and the loss curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from handgrad.checkpoint import TrainingState, start_or_resume
from handgrad.data.toy2d import DISTRIBUTIONS, Toy2D, load_toy2d
from handgrad.errors import HandgradError
from handgrad.fast import DEFAULT_ENGINE
from handgrad.loop import check_finite, epoch_batches, run_epochs
from handgrad.models.vae import DECODERS, VAE, ELBOTerms
from handgrad.nn.activations import ACTIVATIONS
from handgrad.numerics import locate_nonfinite
from handgrad.optim import OPTIMIZERS, ConstantLR, CosineLR, Optimizer, Schedule
from handgrad.runs import Run, load_config, save_arrays, write_json
from handgrad.train import minibatches

SCHEDULES = ("constant", "cosine")
N_COV_SAMPLES = 20_000  # samples drawn to estimate the model's covariance (2-D data)
ACTIVE_UNIT_KL = 0.01  # a latent dimension with mean KL above this (nats) counts as used
EVAL_BATCH = 1000
PYTORCH_MNIST_NEG_ELBO = 105.80  # PyTorch examples/vae, seed 0, 10 epochs (the brief)

# Defaults that depend on the dataset; anything left None in VAEConfig takes these.
_TOY_DEFAULTS = {
    "decoder": "gaussian",
    "latent": 2,
    "hidden": [64, 64],
    "epochs": 50,
    "schedule": "cosine",
    "warmup": 0,
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "gauss-full": _TOY_DEFAULTS,
    "gauss-diag": _TOY_DEFAULTS,
    # the ring's VAE sits in the collapsed optimum (one Gaussian) unless β warms up from 0
    "ring": {**_TOY_DEFAULTS, "hidden": [128, 128], "epochs": 100, "warmup": 20},
    # the PyTorch example: 784-400-20-400-784, Bernoulli decoder, Adam 1e-3, 10 epochs
    "images": {
        "decoder": "bernoulli",
        "latent": 20,
        "hidden": [400],
        "epochs": 10,
        "schedule": "constant",
        "warmup": 0,
    },
}


@dataclass
class VAEConfig:
    """Every setting of a VAE run; saved (resolved) as config.json in the run directory.

    Fields left None take the dataset's defaults (`resolve`). ``warmup`` is the number
    of epochs over which β rises linearly from β/(warmup+1) to β (KL warm-up; 0: off).
    """

    dataset: str = "gauss-full"
    decoder: str | None = None
    latent: int | None = None
    hidden: list[int] | None = None
    beta: float = 1.0
    warmup: int | None = None
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str | None = None
    batch_size: int = 128
    epochs: int | None = None
    seed: int = 0
    data_seed: int = 0
    init: str = "uniform"
    model: str = field(default="vae")

    @property
    def is_toy(self) -> bool:
        return self.dataset in DISTRIBUTIONS

    def resolve(self) -> VAEConfig:
        """A copy with every None replaced by the dataset's default, validated."""
        defaults = _DEFAULTS[self.dataset if self.is_toy else "images"]
        filled = {k: v for k, v in defaults.items() if getattr(self, k) is None}
        cfg = replace(self, **filled)
        cfg.hidden = [int(h) for h in cfg.hidden]
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise `HandgradError` for settings that cannot work."""
        checks = [
            (self.epochs >= 1, f"--epochs must be ≥ 1, got {self.epochs}"),
            (self.batch_size >= 1, f"--batch-size must be ≥ 1, got {self.batch_size}"),
            (self.latent >= 1, f"--latent must be ≥ 1, got {self.latent}"),
            (all(h >= 1 for h in self.hidden), f"--hidden sizes must be ≥ 1, got {self.hidden}"),
            (self.lr > 0, f"--lr must be a positive number, got {self.lr}"),
            (self.beta >= 0, f"--beta must be ≥ 0, got {self.beta}"),
            (self.warmup >= 0, f"--warmup must be ≥ 0 epochs, got {self.warmup}"),
            (
                self.decoder in DECODERS,
                f"unknown --decoder {self.decoder!r}; choose one of {list(DECODERS)}",
            ),
            (
                self.optimizer in OPTIMIZERS,
                f"unknown --optimizer {self.optimizer!r}; choose one of {sorted(OPTIMIZERS)}",
            ),
            (
                self.schedule in SCHEDULES,
                f"unknown --schedule {self.schedule!r}; choose one of {list(SCHEDULES)}",
            ),
            (
                self.activation in ACTIVATIONS,
                f"unknown --activation {self.activation!r}; choose one of {sorted(ACTIVATIONS)}",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise HandgradError(message)

    def beta_at(self, epoch: int) -> float:
        """β used in (1-based) ``epoch``: β · min(1, epoch / (warmup + 1))."""
        return self.beta * min(1.0, epoch / (self.warmup + 1))


@dataclass
class VAEData:
    """What a VAE run trains and tests on.

    train (n, D), test (n_test, D) float32; for images also the test labels, class
    names and image shape; for 2-D data the truth (`Toy2D`).
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray | None = None
    classes: list[str] | None = None
    image_shape: tuple[int, int] | None = None
    truth: Toy2D | None = None


def load_vae_data(config: VAEConfig, data_dir: str | Path | None = None) -> VAEData:
    """The 2-D dataset (seeded by ``data_seed``) or the image dataset named by ``config``."""
    if config.is_toy:
        toy = load_toy2d(config.dataset, seed=config.data_seed)
        return VAEData(config.dataset, toy.train, toy.test, truth=toy)
    from handgrad.data.mnist import load_dataset

    images = load_dataset(config.dataset, data_dir)
    return VAEData(
        config.dataset,
        images.train.x,
        images.test.x,
        test_labels=images.test.y,
        classes=list(images.classes),
        image_shape=tuple(images.image_shape),
    )


def build_vae(config: VAEConfig, x_dim: int) -> VAE:
    """The (resolved) configuration's VAE, initialised from ``seed``."""
    return VAE(
        x_dim,
        config.latent,
        config.hidden,
        decoder=config.decoder,
        beta=config.beta_at(1),
        activation=config.activation,
        rng=np.random.default_rng([config.seed, 0]),
        init=config.init,
    )


def _optimizer(config: VAEConfig, vae: VAE) -> tuple[Optimizer, Schedule]:
    opt = OPTIMIZERS[config.optimizer](vae.parameters(), lr=config.lr)
    if config.schedule == "cosine":
        return opt, CosineLR(opt, total_epochs=config.epochs)
    return opt, ConstantLR(opt)


@dataclass
class _Totals:
    """Running sums of per-example terms over an epoch or an evaluation."""

    rec: float = 0.0
    kl: float = 0.0
    n: int = 0
    kl_dims: np.ndarray | None = None

    def add(self, terms: ELBOTerms, kl_dims: np.ndarray | None = None) -> None:
        self.rec += float(terms.rec.sum(dtype=np.float64))
        self.kl += float(terms.kl.sum(dtype=np.float64))
        self.n += terms.rec.shape[0]
        if kl_dims is not None:
            s = kl_dims.sum(axis=0, dtype=np.float64)
            self.kl_dims = s if self.kl_dims is None else self.kl_dims + s

    def means(self, prefix: str) -> dict[str, float]:
        rec, kl = self.rec / self.n, self.kl / self.n
        return {f"{prefix}_neg_elbo": rec + kl, f"{prefix}_rec": rec, f"{prefix}_kl": kl}


def evaluate(vae: VAE, x: np.ndarray, seed: int | Sequence[int] = 0) -> dict[str, Any]:
    """−ELBO, reconstruction NLL and KL on x (n, D), nats per example, single-sample ε.

    ε comes from a Generator seeded with ``seed``, so the same weights give the same
    numbers. Also returns ``kl_per_dim`` (K,): the mean KL of each latent dimension.
    """
    rng = np.random.default_rng(seed)
    vae.eval()
    totals = _Totals()
    for idx in minibatches(x.shape[0], min(EVAL_BATCH, x.shape[0])):
        terms = vae.elbo_terms(x[idx], rng=rng)
        totals.add(terms, vae.kl_per_dim())
    out: dict[str, Any] = totals.means("test")
    out["kl_per_dim"] = (totals.kl_dims / totals.n).tolist()
    return {k.removeprefix("test_"): v for k, v in out.items()}


def covariance_error(samples: np.ndarray, cov: np.ndarray) -> float:
    """‖cov(samples) − Σ‖_F / ‖Σ‖_F for samples (n, D) and the true Σ (D, D)."""
    c = np.cov(np.asarray(samples, dtype=np.float64), rowvar=False)
    return float(np.linalg.norm(c - cov) / np.linalg.norm(cov))


def _train_epoch(
    vae: VAE,
    opt: Optimizer,
    x: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    epoch: int = 0,
    state: TrainingState | None = None,
) -> dict[str, float]:
    """One pass over x in shuffled mini-batches (or its rest, after a mid-epoch stop);
    returns the mean training terms. With ``state`` the epoch can stop and resume after
    any step (`handgrad.loop.epoch_batches`).

    Raises `handgrad.loop.Diverged` naming epoch, step and where if the loss is NaN/Inf.
    """
    vae.train()
    DEFAULT_ENGINE.prepare(vae, opt)
    totals = _Totals()
    sums = vars(totals)  # rec, kl, n: saved with a mid-epoch checkpoint
    for step, (xb,) in epoch_batches(state, (x,), batch_size, rng, sums):
        terms = vae.elbo_terms(xb, rng=rng)
        check_finite(terms.loss, "the loss", epoch, step, locate_nonfinite, vae)
        opt.zero_grad()
        vae.loss_backward(input_grad=False)
        opt.step()
        totals.add(terms)
    return totals.means("train")


def train_vae(
    config: VAEConfig,
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    data: VAEData | None = None,
    overwrite: bool = False,
    resume: bool = False,
    log=print,
) -> dict[str, Any]:
    """Train a VAE as configured, writing the run directory ``out``; returns the summary.

    With ``resume`` the run continues from ``out/checkpoint.npz`` (see `resume_vae`) and
    ends bit-identical to an uninterrupted run.
    """
    config = config.resolve()
    if data is None:
        data = load_vae_data(config, data_dir)
    if config.batch_size > data.train.shape[0]:
        raise HandgradError(
            f"--batch-size {config.batch_size} is larger than the training set "
            f"({data.train.shape[0]} examples); use ≤ {data.train.shape[0]}"
        )
    vae = build_vae(config, data.train.shape[1])
    opt, sched = _optimizer(config, vae)
    rng = np.random.default_rng([config.seed, 1])  # shuffling and ε
    state = TrainingState(vae, opt, sched, {"train": rng})
    run = start_or_resume(state, out, asdict(config), resume=resume, overwrite=overwrite)
    if resume:
        log(f"resuming {out} {state.position()}")

    def train_epoch(epoch: int) -> dict[str, Any]:
        vae.beta = config.beta_at(epoch)
        return {
            "beta": vae.beta,
            **_train_epoch(vae, opt, data.train, config.batch_size, rng, epoch, state),
        }

    def evaluate_test() -> dict[str, Any]:
        test = evaluate(vae, data.test, seed=[config.seed, 2])
        return {f"test_{k}": v for k, v in test.items() if k != "kl_per_dim"}

    def describe(row: dict[str, Any]) -> str:
        return (
            f"epoch {row['epoch']:3d}/{config.epochs}  β {row['beta']:.3g}  "
            f"train −ELBO {row['train_neg_elbo']:.4f}  test −ELBO {row['test_neg_elbo']:.4f}  "
            f"(rec {row['test_rec']:.4f}, KL {row['test_kl']:.4f})  {row['seconds']:.2f}s"
        )

    metrics = run_epochs(
        state,
        run,
        config.epochs,
        train_epoch,
        evaluate_test,
        describe,
        log,
        batch_size=config.batch_size,
    )
    vae.beta = config.beta
    save_arrays(run.file("weights.npz"), vae.state_dict())
    summary = _summary(config, vae, data, metrics)
    _figures(run, config, vae, data, metrics)
    write_json(run.file("summary.json"), summary)  # last: a run with a summary is complete
    log(_summary_line(summary) + f"  ({run.path})")
    return summary


def _summary(
    config: VAEConfig, vae: VAE, data: VAEData, metrics: list[dict[str, Any]]
) -> dict[str, Any]:
    test = evaluate(vae, data.test, seed=[config.seed, 2])
    seconds = [r["seconds"] for r in metrics]
    summary: dict[str, Any] = {
        "dataset": config.dataset,
        "decoder": config.decoder,
        "latent": config.latent,
        "epochs": config.epochs,
        "test_neg_elbo": test["neg_elbo"],
        "test_rec": test["rec"],
        "test_kl": test["kl"],
        "kl_per_dim": test["kl_per_dim"],
        "active_units": int(sum(k > ACTIVE_UNIT_KL for k in test["kl_per_dim"])),
        "train_seconds": sum(seconds),
        "seconds_per_epoch": sum(seconds) / len(seconds),
    }
    if data.truth is None:
        if config.dataset == "mnist":
            summary["reference_neg_elbo_pytorch"] = PYTORCH_MNIST_NEG_ELBO
        return summary
    truth = data.truth
    gen = np.random.default_rng([config.seed, 3])
    z = gen.standard_normal((N_COV_SAMPLES, config.latent), dtype=vae.dtype)
    noisy = vae.decode(z, decoder_noise=True, rng=gen)
    means = vae.decode(z)
    summary.update(
        {
            "entropy": truth.entropy,
            "entropy_exact": truth.entropy_exact,
            "test_true_nll": float(-truth.log_prob(data.test).mean()),
            "gap_to_entropy": test["neg_elbo"] - truth.entropy,
            "true_mean": truth.mean,
            "true_cov": truth.cov,
            "sample_mean": noisy.mean(axis=0, dtype=np.float64),
            "sample_cov": np.cov(noisy.astype(np.float64), rowvar=False),
            "cov_rel_error": covariance_error(noisy, truth.cov),
            "cov_rel_error_means": covariance_error(means, truth.cov),
        }
    )
    return summary


def _summary_line(s: dict[str, Any]) -> str:
    line = f"test −ELBO {s['test_neg_elbo']:.4f} nats (KL {s['test_kl']:.4f}"
    line += f", {s['active_units']}/{s['latent']} active units)"
    if "entropy" in s:
        line += (
            f"  entropy {s['entropy']:.4f}  gap {s['gap_to_entropy']:+.4f}"
            f"  covariance error {100 * s['cov_rel_error']:.1f}%"
        )
    return line + f"  {s['seconds_per_epoch']:.2f}s/epoch"


def _figures(
    run: Run, config: VAEConfig, vae: VAE, data: VAEData, metrics: list[dict[str, Any]]
) -> None:
    from handgrad.plots import vae as plots

    truth = data.truth
    plots.loss_curves(
        metrics, run.file("loss_curves.png"), entropy=None if truth is None else truth.entropy
    )
    vae.eval()
    mu_z, _ = vae.encode(data.test)
    gen = np.random.default_rng([config.seed, 4])
    if truth is not None:
        n = data.test.shape[0]
        z = gen.standard_normal((n, config.latent), dtype=vae.dtype)
        plots.samples_vs_data(
            data.train[:n],
            vae.decode(z, decoder_noise=True, rng=gen),
            vae.decode(z),
            run.file("samples.png"),
            components=truth.components,
            title=f"{truth.description}: {n} points each",
        )
        angle = np.degrees(np.arctan2(*(data.test - truth.mean).T[::-1]))
        plots.latent_scatter(
            mu_z, run.file("latent.png"), colour=angle, colour_label="angle of x − mean (°)"
        )
        return
    shape = data.image_shape
    plots.reconstructions(
        data.test[:50], vae.reconstruct(data.test[:50]), shape, run.file("reconstructions.png")
    )
    plots.image_grid(
        vae.sample(100, decoder_noise=False, rng=gen),
        shape,
        run.file("samples.png"),
        title="samples: decoder means sigmoid(l(z)), z ~ N(0, I)",
    )
    if config.latent == 2:
        plots.latent_scatter(
            mu_z, run.file("latent.png"), labels=data.test_labels, classes=data.classes
        )


def resume_vae(run_dir: str | Path, **kwargs: Any) -> dict[str, Any]:
    """Continue an interrupted VAE run from its last checkpoint, with its saved settings."""
    return train_vae(load_config(run_dir, VAEConfig, "vae"), run_dir, resume=True, **kwargs)
