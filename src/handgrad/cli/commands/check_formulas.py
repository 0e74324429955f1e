"""``handgrad check formulas FILE.py``: check hand-derived gradient formulas of the network."""

from __future__ import annotations

import argparse

from handgrad.checks.formulas import DEFAULT_BATCHES, check_formulas
from handgrad.cli import args as types

GROUP = "check"
NAME = "formulas"
HELP = "check your closed-form gradient formulas (grad_<param>(q) functions) and explain errors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="Python file defining grad_theta1A(q) … grad_b2B(q); see examples/"
    )
    parser.add_argument(
        "--seed", type=types.non_negative_int, default=0, help="seed of the random batches"
    )
    parser.add_argument(
        "--batch-sizes",
        type=types.positive_int,
        nargs="+",
        default=list(DEFAULT_BATCHES),
        metavar="M",
        help="batch sizes to test (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    report = check_formulas(args.file, batch_sizes=tuple(args.batch_sizes), seed=args.seed)
    print(report.format())
    return report.exit_code
