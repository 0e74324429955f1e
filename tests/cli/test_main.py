"""CLI basics: --help, --version, usage errors as one line with exit code 2."""

from __future__ import annotations

import pytest

from handgrad import __version__
from handgrad.cli import build_parser, main


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code


def test_help_lists_the_command_groups(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: handgrad") and "check" in out


def test_check_help_lists_layers(capsys):
    assert _exit_code(["check", "--help"]) == 0
    assert "layers" in capsys.readouterr().out


def test_version(capsys):
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"handgrad {__version__}"


@pytest.mark.parametrize(
    "argv",
    [["no-such-command"], [], ["check"], ["check", "layers", "--rtol", "abc"]],
    ids=["unknown", "none", "no-subcommand", "bad-value"],
)
def test_usage_errors_are_one_line_with_exit_2(capsys, argv):
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "--help" in captured.err


def test_every_command_module_is_wired():
    parser = build_parser()
    args = parser.parse_args(["check", "layers"])
    assert callable(args._run) and args.rtol == 1e-6 and args.seed == 0
