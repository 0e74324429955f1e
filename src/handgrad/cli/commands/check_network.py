"""``handgrad check network``: the multi-task network's backward vs finite differences."""

from __future__ import annotations

import argparse

from handgrad.checks.network import check_network
from handgrad.cli import args as types
from handgrad.gradcheck import format_table, summary_line

GROUP = "check"
NAME = "network"
HELP = "check every gradient of the multi-task network against finite differences"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    types.add_seed(parser, what="the random batches")
    parser.add_argument(
        "--rtol",
        type=types.positive_float,
        default=1e-6,
        help="largest relative error that passes (default: 1e-6)",
    )


def run(args: argparse.Namespace) -> int:
    reports = check_network(seed=args.seed, rtol=args.rtol)
    print(format_table(reports))
    print(summary_line(reports, args.rtol))
    return 0 if all(r.passed for r in reports) else 1
