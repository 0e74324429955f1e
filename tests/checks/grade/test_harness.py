"""The harness: the only code beside a submission, standalone, and what it answers."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from handgrad.checks.grade import harness, wire
from handgrad.checks.grade.sandbox import HARNESS_FILES

ALLOWED = {"numpy", "__future__", *(name.removesuffix(".py") for name in HARNESS_FILES)}


@pytest.mark.parametrize("module", sorted(set(HARNESS_FILES.values())))
def test_the_sandboxed_modules_import_nothing_of_handgrad_outside_if_packaged(module) -> None:
    """Inside the sandbox handgrad is not importable: these files may import only the
    standard library, NumPy and each other (handgrad's own names only as the fallback
    when handgrad itself imports the harness)."""
    path = Path(importlib.util.find_spec(module).origin)
    tree = ast.parse(path.read_text())
    guarded = {  # imports in a `try:` whose `except ImportError:` is the sandbox's way
        id(n)
        for t in ast.walk(tree)
        if isinstance(t, ast.Try)
        and any(getattr(h.type, "id", "") == "ImportError" for h in t.handlers)
        for stmt in t.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "handgrad":
                assert path.name == "harness.py" or id(node) in guarded, f"{path.name}: {name}"
                continue
            assert top in ALLOWED or top in sys.stdlib_module_names, f"{path.name}: {name}"


def _start(tmp_path: Path, source: str) -> subprocess.Popen:
    folder = tmp_path / "h"
    folder.mkdir()
    for name, module in HARNESS_FILES.items():
        (folder / name).write_text(Path(importlib.util.find_spec(module).origin).read_text())
    (tmp_path / "sub.py").write_text(source)
    site = str(Path(np.__file__).parent.parent)
    return subprocess.Popen(
        [
            sys.executable,
            "-I",
            "-S",
            str(folder / "harness.py"),
            site,
            "10",
            "1024",
            "1",
            "1000",
            str(tmp_path / "sub.py"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_the_harness_answers_and_prints_never_reach_the_protocol(tmp_path: Path) -> None:
    proc = _start(
        tmp_path,
        "import numpy as np\nprint('hello')\nPROBLEM = 'multitask'\n"
        "def grad_b2B(q):\n    print('noise')\n    return q.b2B * 2\n"
        "def grad_b1B(q):\n    raise NotImplementedError\n"
        "def grad_b2A(q):\n    return grad_b2B(q) + 1\n",
    )
    read = proc.stdout.read
    manifest, _ = wire.decode(read)
    assert manifest == {
        "op": "loaded", "formulas": ["b1B", "b2A", "b2B"], "problem": "multitask",
        "own_network": False,
    }  # fmt: skip
    b = np.arange(3.0)
    call = {"op": "call", "name": "b2B", "scalars": {"m": 2}, "replace": []}
    proc.stdin.write(wire.encode(call, {"b2B": b}))
    proc.stdin.flush()
    reply, out = wire.decode(read)
    assert reply == {"status": "ok"} and np.array_equal(out["value"], 2 * b)
    proc.stdin.write(wire.encode({**call, "name": "b1B"}, {"b2B": b}))
    proc.stdin.flush()
    assert wire.decode(read)[0] == {"status": "not_written"}
    # "evaluate it again with the true upstream": grad_b2B replaced for this call only
    replaced = {**call, "name": "b2A", "replace": ["b2B"]}
    proc.stdin.write(wire.encode(replaced, {"b2B": np.zeros(3)}))
    proc.stdin.flush()
    reply, out = wire.decode(read)
    assert np.array_equal(out["value"], np.ones(3))
    proc.stdin.write(wire.encode({"op": "bye"}))
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    assert b"hello" in proc.stderr.read()


def test_helper_modules_named_like_the_harness_modules_are_the_learners(tmp_path: Path):
    (tmp_path / "source.py").write_text("def twice(x):\n    return 2 * x\n")
    (tmp_path / "wire.py").write_text("ONE = 1.0\n")
    proc = _start(
        tmp_path,
        "from source import twice\nfrom wire import ONE\n"
        "def grad_b2B(q):\n    return twice(q.b2B) + ONE\n",
    )
    manifest, _ = wire.decode(proc.stdout.read)
    assert manifest.get("formulas") == ["b2B"], manifest
    call = {"op": "call", "name": "b2B", "scalars": {"m": 1}, "replace": []}
    proc.stdin.write(wire.encode(call, {"b2B": np.ones(2)}))
    proc.stdin.close()
    _, out = wire.decode(proc.stdout.read)
    assert np.array_equal(out["value"], [3.0, 3.0])
    proc.wait(timeout=10)


@pytest.mark.parametrize(
    "error, needle",
    [
        (ModuleNotFoundError("x", name="torch.nn"), "imports torch, a library that computes"),
        (ModuleNotFoundError("x", name="scipy"), "imports scipy, which grading does not"),
        (ValueError("x"), None),
    ],
)
def test_missing_imports_are_named(error, needle) -> None:
    said = harness.missing_import_reason(error)
    assert (said is None) if needle is None else (needle in said)


def test_answer_refuses_an_undefined_formula() -> None:
    reply, _ = harness.answer({}, {"name": "b2B"}, {})
    assert reply["status"] == "error" and "not defined" in reply["message"]
    assert types.SimpleNamespace  # the namespace type the formulas receive
