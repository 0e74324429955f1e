"""The ``handgrad`` command line: thin, it only parses arguments and calls the library.

Each subcommand lives in its own module under `handgrad.cli.commands` and is found
automatically. A command module defines::

    GROUP = "train"          # first word (``handgrad train ...``), or None for a top-level command
    NAME = "mlp"             # the (second) word
    HELP = "one line shown in --help"
    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...   # the exit code

or, for a family of commands generated from data (``handgrad train NAME``: one per
registered experiment), ``def commands() -> list`` of objects with those five attributes.
Optionally ``AGAIN = "..."``: the step after fixing a fault of the machine, when it is
not "run the command again" (e.g. a command that refuses to overwrite its output).

Bad input anywhere raises `handgrad.errors.HandgradError`; `main` prints its one-line
message and exits with code 2, never a traceback. A fault of the machine (an `OSError`:
no space left, a read-only disk, permission denied) is printed the same way, as the one
line of `handgrad.errors.fault` — with what a run directory still holds and how to
continue it — and exits with code 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from handgrad import __version__
from handgrad.errors import AGAIN, HandgradError, MachineFault, fault

GROUP_HELP = {
    "check": "prove gradients right: layers, the multi-task network, your own formulas",
    "train": "train a model into a run directory",
    "data": "inspect and download datasets",
}


HALF_WRITTEN = "interrupted; no file was left half-written"


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _command_modules() -> list:
    from handgrad.cli import commands

    mods = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    ]
    found = [c for m in mods for c in (m.commands() if hasattr(m, "commands") else [m])]
    return sorted(found, key=lambda m: (m.GROUP or "", m.NAME))


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, assembled from every command module."""
    parser = _Parser(
        prog="handgrad",
        description="Neural networks with hand-derived gradients, proven right by checks.",
    )
    parser.add_argument("--version", action="version", version=f"handgrad {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    top.required = True
    groups: dict[str, argparse._SubParsersAction] = {}
    for mod in _command_modules():
        if mod.GROUP is None:
            sub = top.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        else:
            if mod.GROUP not in groups:
                gp = top.add_parser(mod.GROUP, help=GROUP_HELP.get(mod.GROUP, ""))
                groups[mod.GROUP] = gp.add_subparsers(
                    dest="subcommand", metavar="WHAT", parser_class=_Parser
                )
                groups[mod.GROUP].required = True
            sub = groups[mod.GROUP].add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(sub)
        sub.set_defaults(_run=mod.run, _again=getattr(mod, "AGAIN", AGAIN), _parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``handgrad`` console script; returns the exit code."""
    # Before NumPy is imported: no transparent-huge-page advice on NumPy's large arrays
    # (unless the user chose). Where the kernel compacts memory synchronously for such
    # advice (defrag=madvise), first touching the 190 MB MNIST array took 0.3–1.0 s
    # instead of a steady 0.35 s, and training was no faster with huge pages.
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand's parser, so the hint names its --help
        args._parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args._run(args) or 0)
    except HandgradError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        problem = _in_context(e if isinstance(e, MachineFault) else fault(e), args)
        print(f"error: {problem}", file=sys.stderr)
        return 2 if isinstance(problem, HandgradError) else 1
    except KeyboardInterrupt as e:
        # Every file a later step reads is written atomically: none is half-written.
        print(f"interrupted: {e}" if str(e) else HALF_WRITTEN, file=sys.stderr)
        return 130


def _in_context(
    problem: MachineFault | HandgradError, args: argparse.Namespace
) -> MachineFault | HandgradError:
    """``problem``, saying what the run directory it hit keeps and the next step: for a
    training command how to continue that run, else the command's own ``AGAIN``."""
    if not isinstance(problem, MachineFault):
        return problem
    from handgrad.training.checkpoint import saved_run

    kept, resume = saved_run(problem.path) or (problem.kept, None)
    then = problem.then
    if then == AGAIN:  # nobody below knew better
        then = resume if resume is not None and args.command == "train" else args._again
    return problem.with_context(kept=kept, then=then)


if __name__ == "__main__":
    sys.exit(main())
