"""``handgrad check layers``: the table, the summary line and the exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from handgrad import nn
from handgrad.checks.layers import BATCH_SIZES, LAYER_CASES, LOSS_CASES
from handgrad.cli import main


def test_all_layers_pass_and_exit_zero(capsys):
    assert main(["check", "layers"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["subject", "tensor", "shape"]
    n_cases = (len(LAYER_CASES) + len(LOSS_CASES)) * len(BATCH_SIZES)
    assert out[-1].startswith("ok: all ") and f"of {n_cases} cases" in out[-1]
    assert not any(line.endswith("FAIL") for line in out)
    for case in LAYER_CASES + LOSS_CASES:
        assert any(line.startswith(f"{case.name} m=1 ") for line in out), case.name


def test_a_wrong_backward_exits_one(monkeypatch, capsys):
    """ReLU with report 000's sgn(x) read literally: dx = dy ⊙ (x + |x|)/2."""
    forward = nn.ReLU.forward

    def keep_x(self, x):
        self._x = x
        return forward(self, x)

    monkeypatch.setattr(nn.ReLU, "forward", keep_x)
    monkeypatch.setattr(nn.ReLU, "backward", lambda self, dy: dy * (self._x + abs(self._x)) / 2)
    assert main(["check", "layers"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("FAIL:") and out[-1].endswith("ReLU m=1, ReLU m=3, ReLU m=6")
    failing = [line.split()[:2] for line in out if line.endswith("FAIL")]
    assert failing == [["ReLU", "m=1"], ["ReLU", "m=3"], ["ReLU", "m=6"]]


def test_rtol_option_is_applied(capsys):
    assert main(["check", "layers", "--rtol", "1e-30"]) == 1  # round-off exceeds 1e-30
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAIL:")


def test_bad_rtol_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse rejects it before any check runs
        main(["check", "layers", "--rtol", "-1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: argument --rtol: must be a positive number") and (
        err.count("\n") == 1
    )


def test_console_entry_point_exit_code():
    proc = subprocess.run(
        [sys.executable, "-m", "handgrad", "check", "layers", "--seed", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("ok: all ")
