"""handgrad evaluate RUN_DIR: re-evaluate a run's saved weights on its test set."""

from __future__ import annotations

import argparse

from handgrad.errors import HandgradError
from handgrad.training.registry import experiments, of_run

GROUP = None
NAME = "evaluate"
HELP = "re-evaluate the saved weights of a run on its test set"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data-dir", help="folder with the IDX files")


def run(args: argparse.Namespace) -> int:
    experiment = of_run(args.run_dir)
    if experiment.evaluate is None:
        able = sorted(e.name for e in experiments().values() if e.evaluate is not None)
        raise HandgradError(
            f"{args.run_dir} is a {experiment.name} run, which evaluate cannot re-evaluate; "
            f"it can for: {', '.join(able)} (its summary.json holds the final numbers)"
        )
    print(experiment.evaluate(args.run_dir, args.data_dir))
    return 0
