"""``handgrad check network``: the multi-task network's backward vs finite differences."""

from __future__ import annotations

import argparse

from handgrad.checks.network import check_network
from handgrad.gradcheck import format_table

GROUP = "check"
NAME = "network"
HELP = "check every gradient of the multi-task network against finite differences"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of the random batches")
    parser.add_argument(
        "--rtol", type=float, default=1e-6, help="largest relative error that passes"
    )


def run(args: argparse.Namespace) -> int:
    reports = check_network(seed=args.seed, rtol=args.rtol)
    print(format_table(reports))
    failed = [r.subject for r in reports if not r.passed]
    n = sum(len(r.checks) for r in reports)
    if failed:
        print(f"FAIL: {len(failed)} of {len(reports)} cases have a wrong gradient: {failed}")
        return 1
    print(f"ok: all {n} gradients of {len(reports)} cases agree (rel. error ≤ {args.rtol:g})")
    return 0
