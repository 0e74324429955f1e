"""The Gradescope autograder: built by one command, run in a root laid out as Gradescope's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.conftest import one_line_error

from handgrad.checks.grade.demo import learner_source
from handgrad.checks.grade.gradescope import build_bundle
from handgrad.checks.grade.rubric import VISIBILITIES
from handgrad.cli import main
from handgrad.errors import HandgradError

pytestmark = pytest.mark.slow

RUBRIC = """problem = "multitask"
[gradescope]
visibility = "after_published"
[gradescope.tests]
theta1B = "hidden"
[limits]
wall_seconds = 30
"""
TEST_KEYS = {"name", "score", "max_score", "status", "output", "output_format", "visibility"}


def _notebook(source: str) -> str:
    head, _, rest = source.partition("\n\n\ndef ")
    cells = [head, "%matplotlib inline\ndef " + rest]
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"language_info": {"name": "python"}},
            "cells": [{"cell_type": "markdown", "source": "# My gradients", "metadata": {}}]
            + [{"cell_type": "code", "source": c, "metadata": {}, "outputs": []} for c in cells],
        }
    )


def _layout(tmp_path: Path, kind: str) -> Path:
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(RUBRIC)
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_bundle(rubric, tmp_path / "autograder.zip")) as z:
        z.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / name, 0o755)
    sub = root / "submission"
    source = learner_source(frozenset({"bn_factor"}))
    if kind == "nested":  # a zip extracted as uploaded: a folder, a helper, metadata
        (sub / "hw3" / "src").mkdir(parents=True)
        helper, _, rest = source.partition("\n\ndef d_xplus")
        (sub / "hw3" / "src" / "helpers.py").write_text(helper + "\n")
        (sub / "hw3" / "src" / "formulas.py").write_text(
            "\ufeffimport numpy as np\nfrom helpers import relu_prime\n\n\ndef d_xplus" + rest
        )
        (sub / "hw3" / "README.md").write_text("my homework")
    else:
        sub.mkdir(parents=True)
        (sub / "derivation.ipynb").write_text(_notebook(source))
    return root


@pytest.mark.parametrize("kind", ["nested", "notebook"])
def test_run_autograder_writes_gradescope_results(tmp_path: Path, kind: str) -> None:
    root = _layout(tmp_path, kind)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "HANDGRAD_PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert set(results) >= {"score", "execution_time", "output", "visibility", "tests"}
    assert results["visibility"] == "after_published" and "sandbox" in results["output"]
    tests = {t["name"].split(":")[0]: t for t in results["tests"]}
    assert len(tests) == 8
    for t in tests.values():
        assert set(t) == TEST_KEYS
        assert t["status"] in ("passed", "failed") and t["visibility"] in VISIBILITIES
        assert isinstance(t["score"], float | int) and isinstance(t["max_score"], float | int)
    assert tests["theta1B"]["status"] == "failed" and tests["theta1B"]["visibility"] == "hidden"
    assert tests["theta2B"]["status"] == "passed"
    assert tests["theta2B"]["visibility"] == "after_published"
    assert results["score"] == sum(t["score"] for t in tests.values()) == 7
    assert oct(os.stat(root / "source").st_mode & 0o777) == "0o700"


def test_a_rubric_without_its_problem_cannot_be_bundled(tmp_path: Path, capsys) -> None:
    (tmp_path / "r.toml").write_text("[points]\nb2B = 1\n")
    with pytest.raises(HandgradError) as e:
        build_bundle(tmp_path / "r.toml", tmp_path / "a.zip")
    one_line_error(e, "problem", "must name its problem")
    assert not (tmp_path / "a.zip").exists()
    (tmp_path / "r.toml").write_text('problem = "mpl"\n')
    assert main(["gradescope", str(tmp_path / "r.toml"), "--out", str(tmp_path / "a.zip")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'mlp'" in err
    assert not (tmp_path / "a.zip").exists()


def test_setup_installs_bubblewrap_and_a_readable_python(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text(RUBRIC)
    with zipfile.ZipFile(build_bundle(tmp_path / "r.toml", tmp_path / "a.zip")) as z:
        setup = z.read("setup.sh").decode()
        assert {"setup.sh", "run_autograder", "rubric.toml", "requirements.txt"} <= set(
            z.namelist()
        )
        assert "handgrad/checks/grade/harness.py" in z.namelist()
    assert "bubblewrap" in setup and "/opt/handgrad-python" in setup
    assert shutil.which("bash")
