"""``handgrad train NAME``: one subcommand per registered experiment, generated from it.

The options are the experiment config's fields (`handgrad.training.options.option`:
flag, default, rule, choices and help), in the groups data, model, optimisation, plus
the run options every experiment shares: --out, --overwrite, --resume, --no-progress
(and --data-dir for experiments that read image files).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from types import SimpleNamespace

from handgrad.cli.args import default_run_dir
from handgrad.training.experiment import Experiment, RunOptions
from handgrad.training.options import GROUPS, flag_of, option_of
from handgrad.training.registry import experiments

GROUP = "train"


def commands() -> list[SimpleNamespace]:
    """One command (NAME, HELP, add_arguments, run) per registered experiment."""
    return [
        SimpleNamespace(
            GROUP=GROUP,
            NAME=e.name,
            HELP=e.help,
            add_arguments=_adder(e),
            run=_runner(e),
        )
        for e in experiments().values()
    ]


def add_config_arguments(parser: argparse.ArgumentParser, experiment: Experiment) -> None:
    """An option per field of the experiment's config, grouped as in `GROUPS`."""
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    if experiment.uses_data_dir:
        groups["data"].add_argument(
            "--data-dir", help="folder with the IDX files (default: $HANDGRAD_DATA, cache)"
        )
    for field in dataclasses.fields(experiment.config):
        meta = option_of(field)
        if meta is None or not meta["cli"]:
            continue
        default = (
            field.default_factory()  # type: ignore[misc]
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        kwargs: dict = {"dest": field.name, "default": default, "help": meta["help"]}
        if field.type in (bool, "bool"):
            kwargs["action"] = "store_true"
        else:
            kwargs.update(type=meta["rule"], choices=meta["choices"], metavar=meta["metavar"])
        groups[meta["group"]].add_argument(flag_of(field), **kwargs)
    run = groups["run"]
    run.add_argument("--out", help=f"run directory (default: runs/{experiment.name}-<date>-<time>)")
    run.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    run.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted run from its last checkpoint"
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def _adder(experiment: Experiment) -> Callable[[argparse.ArgumentParser], None]:
    return lambda parser: add_config_arguments(parser, experiment)


def _runner(experiment: Experiment) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        options = RunOptions(
            data_dir=getattr(args, "data_dir", None),
            progress=not args.no_progress and sys.stderr.isatty(),
            overwrite=args.overwrite,
            log=lambda line: print(line, flush=True),
        )
        if args.resume:
            experiment.resume(args.resume, options)
            return 0
        names = {f.name for f in dataclasses.fields(experiment.config)}
        config = experiment.config(**{k: v for k, v in vars(args).items() if k in names})
        experiment.train(config, args.out or default_run_dir(experiment.name), options)
        return 0

    return run
