"""``handgrad train NAME``: one subcommand per registered experiment, generated from it.

The options are the experiment config's fields (`handgrad.training.options.option`:
flag, default, rule, choices and help), in the groups data, model, optimisation, plus
the run options every experiment shares: --out, --overwrite, --resume, --override,
--no-progress (and --data-dir for experiments that read image files). Every --help line
states its default.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from handgrad.cli import args
from handgrad.cli.args import default_run_dir
from handgrad.errors import HandgradError
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


def _default_text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "off" if value is False else str(value)


def _help(meta: dict, default: object) -> str:
    """The option's help with its default, unless the help already states it."""
    text = meta["help"] or ""
    if "default" in text:
        return text
    return f"{text} (default: {_default_text(default)})".strip()


def add_config_arguments(parser: argparse.ArgumentParser, experiment: Experiment) -> None:
    """An option per field of the experiment's config, grouped as in `GROUPS`.

    An option not given is left out of the parsed namespace (its default is in --help
    and in the config): with --resume, only what was typed is compared with the run."""
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    if experiment.uses_data_dir:
        args.add_data_dir(groups["data"])
    for field in dataclasses.fields(experiment.config):
        meta = option_of(field)
        if meta is None or not meta["cli"]:
            continue
        default = (
            field.default_factory()  # type: ignore[misc]
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        kwargs: dict = {
            "dest": field.name,
            "default": argparse.SUPPRESS,
            "help": _help(meta, default),
        }
        if field.type in (bool, "bool"):
            kwargs["action"] = "store_true"
        else:
            kwargs.update(type=meta["rule"], choices=meta["choices"], metavar=meta["metavar"])
        groups[meta["group"]].add_argument(flag_of(field), **kwargs)
    run = groups["run"]
    args.add_out(run, what="run directory", default=f"runs/{experiment.name}-<date>-<time>")
    run.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a run from its last checkpoint, with its settings; --epochs N "
        "extends it to N epochs",
    )
    run.add_argument(
        "--override",
        action="store_true",
        help="with --resume: continue with the other settings given even where they differ "
        "from the run's (recorded in its history.jsonl); without it that is an error",
    )
    args.add_no_progress(run)


def _adder(experiment: Experiment) -> Callable[[argparse.ArgumentParser], None]:
    return lambda parser: add_config_arguments(parser, experiment)


def _runner(experiment: Experiment) -> Callable[[argparse.Namespace], int]:
    def run(ns: argparse.Namespace) -> int:
        options = RunOptions(
            data_dir=getattr(ns, "data_dir", None),
            progress=args.show_progress(ns),
            overwrite=ns.overwrite,
            log=lambda line: print(line, flush=True),
        )
        names = {f.name for f in dataclasses.fields(experiment.config)}
        given = {k: v for k, v in vars(ns).items() if k in names}
        if ns.resume:
            moved = ns.out is not None and Path(ns.out).resolve() != Path(ns.resume).resolve()
            for flag, wrong in (("--out", moved), ("--overwrite", ns.overwrite)):
                if wrong:
                    raise HandgradError(
                        f"{flag} cannot be used with --resume: a resumed run stays in "
                        f"{ns.resume}; leave {flag} out"
                    )
            experiment.resume(ns.resume, options, changes=given, override=ns.override)
            return 0
        if ns.override:
            raise HandgradError("--override is for --resume RUN_DIR; leave it out")
        config = experiment.config(**given)
        experiment.train(config, ns.out or default_run_dir(experiment.name), options)
        return 0

    return run
