"""``handgrad reproduce``: every check and run of the assignment, then report.html."""

from __future__ import annotations

import argparse

from handgrad.cli import args as types

GROUP = None
NAME = "reproduce"
HELP = "reproduce the whole assignment (checks, MLP, VAEs, multi-task) into a report"
AGAIN = "run it again with --overwrite (every part runs again)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    types.add_out(p, what="output folder", default="runs/reproduce-<date>-<time>")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a reduced version of every part (subsets, a few epochs): about a minute",
    )
    types.add_data_dir(p)
    p.add_argument(
        "--no-download",
        action="store_true",
        help="never download MNIST; skip the parts that need it when it is not found",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a reproduction in --out")
    types.add_no_progress(p)


def run(args: argparse.Namespace) -> int:
    from handgrad.cli.args import default_run_dir
    from handgrad.reproduce.plan import full_plan, quick_plan
    from handgrad.reproduce.runner import reproduce

    plan = quick_plan() if args.quick else full_plan()
    result = reproduce(
        args.out or default_run_dir("reproduce"),
        plan,
        data_dir=args.data_dir,
        download=not args.no_download,
        progress=types.show_progress(args),
        overwrite=args.overwrite,
        log=lambda line: print(line, flush=True),
    )
    width = max(len(p.key) for p in result.parts)
    print()
    for part in sorted(result.parts, key=lambda p: p.section):
        print(f"{part.section}  {part.key:<{width}}  {part.status:<7}  {part.message}")
    n_failed = sum(p.status == "failed" for p in result.parts)
    print(f"{'FAIL' if n_failed else 'ok'}: see {result.out / 'report.html'}")
    return result.exit_code
