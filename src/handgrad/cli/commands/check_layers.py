"""``handgrad check layers``: every layer's hand-derived backward vs finite differences."""

from __future__ import annotations

import argparse

from handgrad.checks.layers import layer_reports
from handgrad.cli import args as types
from handgrad.gradcheck import format_table, summary_line

GROUP = "check"
NAME = "layers"
HELP = "check every layer and loss against finite differences in float64 (exit 1 on a failure)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rtol",
        type=types.positive_float,
        default=1e-6,
        help="largest relative error that passes (default: 1e-6)",
    )
    types.add_seed(parser, what="the random inputs")


def run(args: argparse.Namespace) -> int:
    reports = layer_reports(rtol=args.rtol, seed=args.seed)
    print(format_table(reports))
    print(summary_line(reports, args.rtol))
    return 0 if all(r.passed for r in reports) else 1
