"""Notebooks as Python source: code cells in order, IPython syntax commented out in place."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from tests.conftest import one_line_error

from handgrad.checks import notebook
from handgrad.checks.notebook import code_cells, defines_formulas, locate


def nb(*cells: tuple[str, str | list[str]], **top: object) -> str:
    """Notebook JSON of (cell_type, source) pairs; code cells get execution counts 1, 2, …"""
    out, count = [], 0
    for kind, source in cells:
        cell: dict = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            count += 1
            cell |= {"execution_count": count, "outputs": []}
        out.append(cell)
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": out} | top)


def test_code_cells_in_order_after_their_cell_number() -> None:
    text = nb(
        ("markdown", "# Homework 3\n```\ndef grad_fake(q): ...\n```"),
        ("code", ["import math\n", "X = 2\n"]),
        ("raw", "def grad_raw(q): ..."),
        ("code", "def grad_b2B(q):\n    return X * q"),
    )
    source = code_cells(text)
    assert source == (
        "# cell 2 (In [1])\nimport math\nX = 2\n\n# cell 4 (In [2])\n"
        "def grad_b2B(q):\n    return X * q\n"
    )
    space: dict = {}
    exec(compile(source, "nb.py", "exec"), space)
    assert space["grad_b2B"](3) == 6


def test_ipython_lines_are_commented_out_in_place() -> None:
    cell = (
        "%matplotlib inline\n"
        "!pip install numpy\n"
        "files = !ls\n"
        "sum?\n"
        "for i in range(2):\n"
        "    %time total = i\n"
        "def grad_b2B(q):\n"
        "    return 2 * q"
    )
    source = code_cells(nb(("code", cell), ("code", "%%timeit\nx = 1 +\n")))
    lines = source.split("\n")
    assert lines[1:7] == [
        "# %matplotlib inline",
        "# !pip install numpy",
        "# files = !ls",
        "# sum?",
        "for i in range(2):",
        "    pass  # %time total = i",
    ]
    assert "# %%timeit\n# x = 1 +" in source  # a cell magic's whole cell
    space: dict = {}
    exec(compile(source, "nb.py", "exec"), space)
    assert space["grad_b2B"](3) == 6


def test_a_cell_that_parses_is_kept_as_written() -> None:
    cell = "y = (7\n% 4)\ns = '''\n!not a shell line\n'''"
    assert code_cells(nb(("code", cell))) == f"# cell 1 (In [1])\n{cell}\n"


def test_line_numbers_lead_back_to_the_cell() -> None:
    source = code_cells(
        nb(("code", "%load_ext foo\nA = 1"), ("markdown", "text"), ("code", "x = 1\n1 / 0"))
    )
    with pytest.raises(ZeroDivisionError) as e:
        exec(compile(source, "nb.py", "exec"), {})
    line = traceback.extract_tb(e.tb)[-1].lineno
    assert locate(source, line) == "cell 3, line 2"
    assert locate(source, 1) == "cell 1"
    assert locate(source, 2) == "cell 1, line 1"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("def grad_b2B(q): ...", "invalid JSON (Expecting value at line 1, column 1)"),
        ('{"cells": [', "invalid JSON"),
        ("[]", "a JSON list, not a notebook object"),
        ("{}", "no list of cells"),
        ('{"nbformat": 3, "worksheets": []}', "nbformat 3 or older"),
        ('{"nbformat": 4, "cells": [1]}', "cell 1 is not a cell"),
        ('{"nbformat": 4, "cells": [{"source": "x"}]}', "cell 1 is not a cell"),
        ('{"cells": [{"cell_type": "code", "source": 7}]}', "the source of cell 1"),
        ('{"cells": [{"cell_type": "code", "source": ["a", 2]}]}', "the source of cell 1"),
        ("[" * 100_000, "nests too deeply"),
    ],
)
def test_a_malformed_notebook_is_a_one_line_value_error(text: str, why: str) -> None:
    with pytest.raises(ValueError) as e:
        code_cells(text)
    assert one_line_error(e, why).startswith("not a Jupyter notebook: ")


def test_a_notebook_in_another_language_is_refused() -> None:
    r_kernel = {"kernelspec": {"language": "R\nx", "name": "ir"}}
    with pytest.raises(ValueError) as e:
        code_cells(nb(("code", "x <- 1"), metadata=r_kernel))
    one_line_error(e, "not a Python notebook", "'R\\nx'")
    python = {"kernelspec": {"language": "python"}, "language_info": {"name": "python"}}
    assert code_cells(nb(("code", "x = 1"), metadata=python)).endswith("x = 1\n")


def test_a_bom_before_the_json_is_read() -> None:
    assert code_cells("\ufeff" + nb(("code", "x = 1"))).endswith("x = 1\n")


@pytest.mark.parametrize(
    ("source", "defines"),
    [
        ("def grad_b2B(q):\n    ...", True),
        ("\ufeffdef grad_b2B(q): ...", True),
        ("import numpy\n\nclass A:\n    def grad_x (self): ...", True),
        ("x = 1\ndef\tgrad_theta2A(\n    q): ...", True),
        ("# def grad_b2B(q): ...", False),
        ("def gradient_b2B(q): ...", False),
        ("def grad_b2B", False),
        ("x = 'def grad_b2B(q)'", False),
        ("", False),
    ],
)
def test_defines_formulas_scans_for_a_def_grad_line(source: str, defines: bool) -> None:
    assert defines_formulas(source) is defines


def test_the_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(notebook.__file__).read_text())
    imported = {
        (a.name if isinstance(n, ast.Import) else n.module or "").split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    }
    assert imported and imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names


def test_it_runs_as_a_script_without_site_packages(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    good.write_text(nb(("code", "%matplotlib inline\ndef grad_b2B(q): ...")))
    bad.write_text("{")

    def run(path: Path) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-I", "-S", notebook.__file__, str(path)]  # no handgrad
        return subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=60)

    ok = run(good)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "# cell 1 (In [1])\n# %matplotlib inline\ndef grad_b2B(q): ...\n"
    broken = run(bad)
    assert broken.returncode == 2 and broken.stderr.startswith("error: not a Jupyter notebook")
