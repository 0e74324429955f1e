"""A Gradescope autograder: the bundle, and what runs inside Gradescope's container.

`build_bundle(rubric, out)` writes ``autograder.zip`` as Gradescope expects it
(https://gradescope-autograders.readthedocs.io, "Specifications")::

    setup.sh            installs bubblewrap and a Python 3.11 every user can read
                        (/opt/handgrad-python), a venv with handgrad's dependencies
                        (requirements.txt, pinned to the versions installed here), and
                        makes /autograder/source readable by root only
    run_autograder      runs ``python -m handgrad.checks.grade.gradescope``
    rubric.toml         the course's rubric (it must name its problem)
    requirements.txt
    handgrad/           this handgrad, as installed here (no build step needed)

`run_autograder(root)` grades ``root/submission`` (one learner, laid out as they
uploaded it: a file, a notebook or a nested folder) and writes
``root/results/results.json``: the score, one test per graded formula with its
``status`` (passed/failed), points and feedback, and each test's ``visibility`` from the
rubric's [gradescope] table. The submission runs in a bubblewrap sandbox where the
container allows namespaces, else as the unprivileged user ``nobody`` that can read
neither the harness nor the rubric and cannot write the results (the output says which
isolation was used). ``AUTOGRADER_ROOT`` (default /autograder) moves the whole layout,
for tests.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path

import handgrad
from handgrad.checks.grade import sandbox
from handgrad.checks.grade.grader import score_class
from handgrad.checks.grade.outputs import gradescope_results
from handgrad.checks.grade.rubric import check_problem, check_rubric, load_rubric
from handgrad.checks.grade.runner import check_submission
from handgrad.checks.grade.submissions import single
from handgrad.errors import HandgradError
from handgrad.io import atomic_write

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when the autograder is built (as root, Ubuntu).
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap python3-pip curl >/dev/null
python3 -m pip install --quiet uv || curl -LsSf https://astral.sh/uv/install.sh | sh
export PATH="$HOME/.local/bin:$PATH"
# a Python every user can read: the sandbox user runs it in the user isolation
export UV_PYTHON_INSTALL_DIR=/opt/handgrad-python
uv venv --quiet --python {python} /opt/handgrad-venv
uv pip install --quiet --python /opt/handgrad-venv -r /autograder/source/requirements.txt
chmod -R a+rX /opt/handgrad-python /opt/handgrad-venv
chmod -R go-rwx /autograder/source   # the harness and the rubric: root only
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission (as root).
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
cd "$root/source"
PYTHONPATH="$root/source" exec "${HANDGRAD_PYTHON:-/opt/handgrad-venv/bin/python}" \\
    -m handgrad.checks.grade.gradescope --root "$root"
"""


def build_bundle(rubric_path: str | Path, out: str | Path) -> Path:
    """Write the autograder zip for ``rubric_path`` to ``out`` (see the module doc)."""
    rubric_path, out = Path(rubric_path), Path(out)
    rubric = load_rubric(rubric_path)
    if rubric.problem is None:
        raise HandgradError(
            f'{rubric_path}: problem: a Gradescope rubric must name its problem (problem = "…")'
        )
    check_rubric(rubric, check_problem(rubric.problem), str(rubric_path))
    package = Path(handgrad.__file__).parent
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    with atomic_write(out, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        _add(z, "setup.sh", SETUP.format(python=python), executable=True)
        _add(z, "run_autograder", RUN, executable=True)
        _add(z, "rubric.toml", rubric_path.read_text())
        _add(z, "requirements.txt", requirements())
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                z.write(path, Path("handgrad") / path.relative_to(package))
    return out


def _add(z: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)


def requirements() -> str:
    """handgrad's dependencies, pinned to the versions installed here."""
    lines = []
    for req in importlib.metadata.requires("handgrad") or []:
        if "extra ==" in req:
            continue
        name = re.split(r"[<>=!~ ;\[]", req, maxsplit=1)[0]
        lines.append(f"{name}=={importlib.metadata.version(name)}")
    return "\n".join(lines) + "\n"


def run_autograder(root: str | Path, isolation: str = "auto") -> dict:
    """Grade ``root/submission`` into ``root/results/results.json`` (see the module doc)."""
    root = Path(root)
    rubric = load_rubric(root / "source" / "rubric.toml")
    problem = check_problem(rubric.problem)
    check_rubric(rubric, problem)
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    os.chmod(results, 0o755)
    os.chmod(root / "source", 0o700)
    isolation = sandbox.resolve(isolation)
    sub = single(root / "submission", "submission")
    with tempfile.TemporaryDirectory(prefix="handgrad-sandbox-") as tmp:
        box = sandbox.prepare(isolation, Path(tmp), rubric.allow_imports)
        outcome = check_submission(sub, box, rubric.limits, problem)
    summary = score_class([outcome], rubric, problem)
    data = gradescope_results(summary.grades[0], summary.symbols, rubric)
    data["output"] += f"\nGraded in a {box.describe()}."
    with atomic_write(results / "results.json", "w") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_autograder", description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    parser.add_argument("--isolation", choices=("auto", "bwrap", "user"), default="auto")
    args = parser.parse_args(argv)
    try:
        data = run_autograder(args.root, args.isolation)
    except HandgradError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(data["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
