"""``handgrad train multitask``: train the multi-task network on synthetic two-task data."""

from __future__ import annotations

import argparse

from handgrad.cli import args as types
from handgrad.experiments.multitask import MultiTaskConfig, resume_multitask, train_multitask
from handgrad.optim import OPTIMIZERS

GROUP = "train"
NAME = "multitask"
HELP = "train the multi-task network (regression + classification) on synthetic data"

_DEFAULTS = MultiTaskConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=d.optimizer)
    parser.add_argument("--lr", type=types.positive_float, default=d.lr, help="learning rate")
    parser.add_argument("--epochs", type=types.positive_int, default=d.epochs)
    parser.add_argument("--batch-size", type=types.positive_int, default=d.batch_size)
    parser.add_argument(
        "--hidden", type=types.positive_int, default=d.hidden, help="task-A hidden units h"
    )
    parser.add_argument(
        "--p", type=types.probability, default=d.p, help="dropout probability on task A"
    )
    parser.add_argument(
        "--seed", type=types.non_negative_int, default=d.seed, help="seed of data, init and order"
    )
    types.add_engine_argument(parser)
    parser.add_argument("--out", help="run directory (default: runs/multitask-<date>-<time>)")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint"
    )


def run(args: argparse.Namespace) -> int:
    if args.resume:
        summary = resume_multitask(args.resume)
        _print_summary(summary, args.resume)
        return 0
    config = types.config_from_args(MultiTaskConfig, args)
    out = args.out or types.default_run_dir("multitask")
    summary = train_multitask(config, out, overwrite=args.overwrite)
    _print_summary(summary, out)
    return 0


def _print_summary(summary: dict, out: str) -> None:
    print(
        f"final test: task-B accuracy {summary['test_acc_b']:.4f}, "
        f"task-A MSE {summary['test_mse_a']:.4f}, task-B CE {summary['test_ce_b']:.4f} "
        f"({summary['train_seconds']:.1f} s of training); run saved in {out}"
    )
