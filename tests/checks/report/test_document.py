"""Finding the math: Markdown, LaTeX and notebooks; numbers, lines, headings; code skipped."""

from __future__ import annotations

import json

import pytest

from handgrad.checks.report.document import read_document, read_text
from handgrad.errors import HandgradError

MD = r"""# Block Two

Inline $a = b$ and a display:

$$\frac{\partial L}{\partial x} = y \quad (3)$$

```python
cost = "$not math$"
```

$$\begin{aligned} u &= v \\ &= w \end{aligned} \tag{4}$$
"""


def test_markdown_spans_numbers_lines_and_headings():
    maths = read_text(MD).maths
    assert maths[0].tex == "a = b"
    assert [(m.number, m.line, m.display) for m in maths[1:]] == [("3", 5, True), ("4", 11, True)]
    assert all(m.headings == ("Block Two",) for m in maths)
    assert maths[1].where == "eq. (3)" and maths[0].where == "line 3"
    assert not any("not math" in m.tex for m in maths)


def test_latex_numbers_equations_and_sections(tmp_path):
    path = tmp_path / "r.tex"
    path.write_text(
        "\\section{Dropout}\n% $ignored$\nText $p$.\n"
        "\\begin{equation}\\frac{\\partial y}{\\partial x} = M\\end{equation}\n"
        "\\begin{equation*}a=b\\end{equation*}\n\\[c = d\\]\n"
        "\\begin{equation}e = f\\label{x}\\end{equation}\n"
    )
    maths = read_document(path).maths
    assert [m.number for m in maths] == [None, "1", None, None, "2"]
    assert maths[1].headings == ("Dropout",)
    assert maths[-1].tex == "e = f"


def test_notebook_markdown_cells_and_code_cells(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["# T\n", "$$x = y$$"]},
            {"cell_type": "code", "source": "def grad_x(q):\n    return q.x"},
        ]
    }
    path = tmp_path / "r.ipynb"
    path.write_text(json.dumps(nb))
    doc = read_document(path)
    assert [(m.tex, m.cell, m.where) for m in doc.maths] == [("x = y", 1, "cell 1, line 2")]
    assert doc.notebook == path.read_text()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("r.py", "x = 1", "not a report this reader knows"),
        ("r.ipynb", "{", "not a Jupyter notebook"),
        ("gone.md", None, "file not found"),
    ],
)
def test_unusable_files_are_one_line_errors(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(HandgradError, match=message):
        read_document(path)


def test_a_display_over_lines_that_look_like_markdown_stays_one_equation():
    text = "# T\n\n$$\na = b\n- c\n+ d\n\\tag{1}\n$$\n\nafter $x = y$\n"
    maths = read_text(text).maths
    assert [(m.number, m.line) for m in maths] == [("1", 3), (None, 10)]
    assert maths[0].tex.split() == ["a", "=", "b", "-", "c", "+", "d"]


def test_latex_environments_in_markdown_are_displays_too():
    text = "# T\n\n\\begin{equation}\nu = v\n- w \\tag{7}\n\\end{equation}\n\n\\[p = q\\]\n"
    maths = read_text(text).maths
    assert [(m.tex.split(), m.number, m.line) for m in maths] == [
        (["u", "=", "v", "-", "w"], "7", 3),
        (["p", "=", "q"], None, 8),
    ]
