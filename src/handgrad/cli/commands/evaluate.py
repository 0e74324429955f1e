"""handgrad evaluate RUN_DIR: re-evaluate a run's saved weights on its test set."""

from __future__ import annotations

import argparse

GROUP = None
NAME = "evaluate"
HELP = "re-evaluate the saved weights of an MLP run on the test set"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data-dir", help="folder with the IDX files")


def run(args: argparse.Namespace) -> int:
    from handgrad.experiments.mlp import evaluate_run

    result = evaluate_run(args.run_dir, data_dir=args.data_dir)
    print(f"{result['dataset']} test accuracy: {100 * result['test_acc']:.2f}%")
    return 0
