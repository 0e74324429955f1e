"""Every --help states each option's default, and the shared options are declared once."""

from __future__ import annotations

import argparse

from handgrad.cli import build_parser


def _commands(parser: argparse.ArgumentParser, prefix: str = "handgrad"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _commands(sub, f"{prefix} {name}")


def _options(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if action.option_strings and not isinstance(
            action, (argparse._HelpAction, argparse._VersionAction)
        ):
            yield action


def test_every_option_with_a_default_states_it() -> None:
    """Options that take a value and have a default (the train commands' config options
    keep theirs out of the parsed namespace, as argparse.SUPPRESS) say it in --help."""
    missing = [
        f"{command} {action.option_strings[-1]}"
        for command, parser in _commands(build_parser())
        for action in _options(parser)
        if not isinstance(action, argparse._StoreTrueAction)
        and action.default is not None
        and "default" not in (action.help or "")
    ]
    assert missing == []


def test_shared_options_read_the_same_everywhere() -> None:
    """--no-progress and --data-dir come from one declaration (`handgrad.cli.args`): the
    same words wherever they appear (--data-dir's default differs where the command
    reads the data from elsewhere: evaluate, the data commands)."""
    helps: dict[str, set[str]] = {}
    for command, parser in _commands(build_parser()):
        for action in _options(parser):
            flag = action.option_strings[-1]
            if flag == "--no-progress" or (
                flag == "--data-dir" and command.split()[1] in ("train", "sweep", "reproduce")
            ):
                helps.setdefault(flag, set()).add((action.help or "").split(" (default")[0])
    assert len(helps["--no-progress"]) == 1
    assert helps["--data-dir"] == {"folder with the MNIST / Fashion-MNIST IDX files"} | {
        "folder with the IDX files of MLP / VAE trials"
    }
