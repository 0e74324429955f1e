"""handgrad train mlp: the MLP classifier (defaults: the reference run)."""

from __future__ import annotations

import argparse
import sys

from handgrad.cli import args as types

GROUP = "train"
NAME = "mlp"
HELP = "train an MLP classifier on MNIST / Fashion-MNIST (defaults: the reference run)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from handgrad.models.mlp import MLP_ACTIVATIONS

    d = p.add_argument_group("data")
    d.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    d.add_argument("--data-dir", help="folder with the IDX files (default: $HANDGRAD_DATA, cache)")
    d.add_argument(
        "--validation",
        type=types.non_negative_int,
        default=0,
        metavar="N",
        help="hold out N training examples and report accuracy on them per epoch",
    )
    d.add_argument("--standardize", action="store_true", help="zero-mean, unit-variance pixels")
    d.add_argument(
        "--train-subset",
        type=types.non_negative_int,
        default=0,
        metavar="N",
        help="train on the first N examples only (0: all)",
    )
    m = p.add_argument_group("model")
    m.add_argument(
        "--hidden",
        type=types.int_list,
        default=[50],
        metavar="H[,H…]",
        help="hidden layer sizes (default: 50)",
    )
    m.add_argument("--activation", default="relu", choices=MLP_ACTIVATIONS)
    m.add_argument("--dropout", type=types.probability, default=0.0, metavar="P")
    m.add_argument("--batchnorm", action="store_true")
    m.add_argument("--init", default="uniform", choices=["uniform", "he", "xavier"])
    o = p.add_argument_group("optimisation")
    o.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    o.add_argument("--lr", type=types.positive_float, default=0.1)
    o.add_argument("--momentum", type=types.probability, default=0.0)
    o.add_argument("--weight-decay", type=types.non_negative_float, default=0.0)
    o.add_argument("--schedule", default="step", choices=["step", "cosine", "constant"])
    o.add_argument(
        "--lr-step",
        dest="step",
        type=types.positive_int,
        default=20,
        metavar="EPOCHS",
        help="StepLR: decay every EPOCHS epochs (default 20)",
    )
    o.add_argument(
        "--lr-gamma",
        dest="gamma",
        type=types.positive_float,
        default=0.1,
        metavar="G",
        help="StepLR: multiply the learning rate by G (default 0.1)",
    )
    o.add_argument("--batch-size", type=types.positive_int, default=16)
    o.add_argument("--epochs", type=types.positive_int, default=60)
    o.add_argument("--seed", type=types.non_negative_int, default=0)
    r = p.add_argument_group("run")
    r.add_argument("--out", help="run directory (default: runs/mlp-<date>-<time>)")
    r.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    r.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint"
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    types.add_engine_argument(r)


def run(args: argparse.Namespace) -> int:
    from handgrad.experiments.mlp import MLPConfig, resume_mlp, train_mlp

    progress = not args.no_progress and sys.stderr.isatty()
    if args.resume:
        resume_mlp(args.resume, data_dir=args.data_dir, progress=progress)
        return 0
    config = types.config_from_args(MLPConfig, args)
    train_mlp(
        config,
        args.out or types.default_run_dir("mlp"),
        data_dir=args.data_dir,
        progress=progress,
        overwrite=args.overwrite,
    )
    return 0
