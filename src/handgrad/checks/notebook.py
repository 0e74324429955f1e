"""Jupyter notebooks as Python source, and the scan for formula definitions.

Standalone on purpose: this module imports only the standard library, because it also
runs inside the grading sandbox, where handgrad is not importable. There it can be run
as a script, ``python notebook.py NOTEBOOK.ipynb``, which prints the notebook's source.

``code_cells`` turns a notebook (nbformat 4 JSON, each cell's ``source`` a string or a
list of strings) into one Python file: the code cells in order, each after a line
``# cell N`` (N counts every cell of the notebook from 1, markdown cells too; ``(In [k])``
follows when the cell was run), so a line number in an error leads back to its cell
(`locate`)::

    # cell 2 (In [1])
    import numpy as np
    # %matplotlib inline

    # cell 4
    def grad_b2B(q): ...

IPython syntax that is not Python is commented out in place, keeping every other line
where it was: line magics (``%time f()``), shell lines (``!pip install x``,
``files = !ls``), help (``np.sum?``), and a whole cell that starts with a cell magic
(``%%timeit``). A cell that already parses as Python is kept exactly as written.

``defines_formulas`` is the bounded text scan that tells a formulas file from its
helpers: a line ``def grad_<name>(``, in a ``.py`` file or a notebook's source.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys

#: A line that defines a formula, ``def grad_b2B(``.
FORMULA_LINE = re.compile(r"^[ \t]*def[ \t]+grad_\w+\s*\(", re.MULTILINE)

#: A line of IPython syntax: a line magic or shell escape (alone or assigned), or help.
_IPYTHON_LINE = re.compile(r"^[ \t]*(?:[%!?]|\w+[ \t]*=[ \t]*[%!]|[\w.]+\?\??[ \t]*$)")

#: The line `code_cells` writes before each code cell.
_CELL_LINE = re.compile(r"^# cell (\d+)(?: \(In \[\d+\]\))?$")

#: The largest notebook the script reads.
MAX_NOTEBOOK_BYTES = 64 * 2**20


def defines_formulas(source: str) -> bool:
    """Whether ``source`` (Python, or a notebook's `code_cells`) has a ``def grad_…(`` line."""
    return FORMULA_LINE.search(source.removeprefix("\ufeff")) is not None


def code_cells(text: str) -> str:
    """The Python source of notebook JSON ``text`` (see the module doc).

    Raises ValueError with a one-line reason when ``text`` is not an nbformat 4 notebook
    ("not a Jupyter notebook: …") or is one in another language than Python.
    """
    cells = _cells(text)
    parts = []
    for n, cell in enumerate(cells, 1):
        if cell["cell_type"] != "code":
            continue
        count = cell.get("execution_count")
        head = f"# cell {n}" + (f" (In [{count}])" if type(count) is int else "")
        source = _source(cell, n).replace("\r\n", "\n").replace("\r", "\n")
        parts.append(f"{head}\n{_python(source).rstrip()}\n")
    return "\n".join(parts)


def locate(source: str, line: int) -> str | None:
    """Where line ``line`` (from 1) of `code_cells`'s ``source`` was: ``cell 4, line 2``."""
    lines = source.split("\n")[:line]
    for i in range(len(lines) - 1, -1, -1):
        if m := _CELL_LINE.match(lines[i]):
            return f"cell {m[1]}, line {line - i - 1}" if line - i > 1 else f"cell {m[1]}"
    return None


def _cells(text: str) -> list[dict]:
    def bad(why: str) -> ValueError:
        return ValueError(f"not a Jupyter notebook: {why}; open it in Jupyter and save it again")

    try:
        nb = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as e:
        raise bad(f"invalid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except RecursionError:
        raise bad("its JSON nests too deeply") from None
    if not isinstance(nb, dict):
        raise bad(f"the file holds a JSON {type(nb).__name__}, not a notebook object")
    if "worksheets" in nb or (type(nb.get("nbformat")) is int and nb["nbformat"] < 4):
        raise bad("it is in nbformat 3 or older, and only nbformat 4 is read")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise bad("it has no list of cells")
    for n, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise bad(f"cell {n} is not a cell (an object with a cell_type)")
    language = _language(nb.get("metadata"))
    if language is not None and language.lower() != "python":
        raise ValueError(
            f"not a Python notebook: its kernel's language is {language[:40]!r}; "
            "write the formulas in a Python notebook"
        )
    return cells


def _language(metadata: object) -> str | None:
    if not isinstance(metadata, dict):
        return None
    for key, field in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            return value[field]
    return None


def _source(cell: dict, n: int) -> str:
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if isinstance(source, str):
        return source
    raise ValueError(
        f"not a Jupyter notebook: the source of cell {n} is neither text nor a list of "
        "lines; open it in Jupyter and save it again"
    )


def _python(cell: str) -> str:
    """``cell`` with its IPython-only lines commented out (see the module doc)."""
    if _parses(cell):
        return cell
    lines = cell.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return "\n".join(f"# {line}" for line in lines)
    return "\n".join(_commented(line) if _IPYTHON_LINE.match(line) else line for line in lines)


def _commented(line: str) -> str:
    body = line.lstrip(" \t")
    indent = line[: len(line) - len(body)]
    # an indented line sits in a block, which must keep a statement
    return f"{indent}pass  # {body}" if indent else f"# {body}"


def _parses(cell: str) -> bool:
    try:
        ast.parse(cell)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def main(argv: list[str]) -> int:
    """``python notebook.py NOTEBOOK``: print its Python source; exit 2 with a reason."""
    if len(argv) != 1:
        print("usage: python notebook.py NOTEBOOK.ipynb", file=sys.stderr)
        return 2
    try:
        if os.stat(argv[0]).st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB")
        with open(argv[0], encoding="utf-8", errors="replace") as f:
            sys.stdout.write(code_cells(f.read()))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
