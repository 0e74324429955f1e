"""``handgrad evaluate RUN_DIR``: re-evaluate a run's saved weights on its test set.

Works for every experiment with an ``evaluate`` (MLP, VAE, multi-task); reads the data
from where the run read it (its provenance.json) unless --data-dir says otherwise, prints
one line and writes evaluation.json into the run directory. ``--iwae K`` adds, for a VAE
run, the importance-sampled estimate of the test log-likelihood.
"""

from __future__ import annotations

import argparse

from handgrad.cli import args as types
from handgrad.errors import HandgradError
from handgrad.training.experiment import EvaluateOptions
from handgrad.training.registry import experiments, of_run

GROUP = None
NAME = "evaluate"
HELP = "re-evaluate the saved weights of a run on its test set (writes evaluation.json)"
LITERATURE_K = 5000  # Burda, Grosse & Salakhutdinov (2016): 5000 samples per test image


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by 'handgrad train'")
    types.add_data_dir(p, default="the folder the run read, from its provenance.json")
    p.add_argument(
        "--iwae",
        type=types.positive_int,
        nargs="?",
        const=LITERATURE_K,
        default=0,
        metavar="K",
        help="VAE runs: also estimate the test log-likelihood log p(x) by importance "
        f"sampling with K samples per example (--iwae alone: K = {LITERATURE_K}, the "
        "literature's) (default: off)",
    )
    p.add_argument(
        "--iwae-batch",
        type=types.positive_int,
        default=EvaluateOptions.iwae_batch,
        metavar="ROWS",
        help="examples × samples computed at once with --iwae; bounds memory "
        f"(default: {EvaluateOptions.iwae_batch})",
    )
    p.add_argument(
        "--limit",
        type=types.non_negative_int,
        default=0,
        metavar="N",
        help="evaluate the first N test examples only (default: 0, all)",
    )
    types.add_no_progress(p)


def run(args: argparse.Namespace) -> int:
    experiment = of_run(args.run_dir)
    if experiment.evaluate is None:
        able = sorted(e.name for e in experiments().values() if e.evaluate is not None)
        raise HandgradError(
            f"{args.run_dir} is a {experiment.name} run, which evaluate cannot re-evaluate; "
            f"it can for: {', '.join(able)} (its summary.json holds the final numbers)"
        )
    options = EvaluateOptions(
        data_dir=args.data_dir,
        progress=types.show_progress(args),
        iwae=args.iwae,
        iwae_batch=args.iwae_batch,
        limit=args.limit,
    )
    _, line = experiment.evaluate_run(args.run_dir, options)
    print(line)
    return 0
