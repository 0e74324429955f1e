"""``handgrad check formulas FILE.py``: the gradient doctor on a learner's formulas.

Exit codes: 0 every given formula right; 1 any wrong or failing; 2 unusable input
(no file, not Python, no formula at all), with one line on stderr and nothing on stdout.
"""

from __future__ import annotations

import argparse

from handgrad.checks.doctor import check_file
from handgrad.checks.doctor.call import TIME_LIMIT_S
from handgrad.cli import args as types

GROUP = "check"
NAME = "formulas"
HELP = "check your hand-derived gradient formulas (grad_<quantity>(q)) and name the mistakes"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="Python file defining grad_<quantity>(q) functions")
    parser.add_argument("--problem", help="the problem the file is for (default: recognised)")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output (default: text)"
    )
    parser.add_argument(
        "--seed", type=types.non_negative_int, default=0, help="seed of the random batches"
    )
    parser.add_argument(
        "--time-limit",
        type=types.positive_float,
        default=TIME_LIMIT_S,
        metavar="S",
        help="seconds one formula may run per batch (default: %(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    report = check_file(args.file, args.problem, seed=args.seed, time_limit_s=args.time_limit)
    print(report.dumps() if args.format == "json" else str(report))
    return report.exit_code
