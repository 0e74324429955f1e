"""Finding the submissions of a folder, and the content hash that decides re-checking."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import one_line_error

from handgrad.checks.grade.submissions import content_hash, discover
from handgrad.errors import HandgradError


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_every_entry_is_one_submission(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "ann.py": "def grad_b2B(q): ...",
            "bob/solution.py": "from util import f\ndef grad_b2B(q): ...",
            "bob/util.py": "def f(): ...",
            "cy/x.py": "",
            "cy/y.py": "",
            "dee/notes.txt": "",
            "eve.ipynb": "{}",
            ".hidden.py": "",
            "__pycache__/ann.cpython-311.pyc": "",
        },
    )
    subs = {s.name: s for s in discover(tmp_path)}
    assert list(subs) == ["ann.py", "bob", "cy", "dee", "eve.ipynb"]
    assert subs["ann.py"].file == tmp_path / "ann.py"
    assert subs["bob"].file == tmp_path / "bob" / "solution.py"  # the one defining grad_
    assert subs["cy"].file is None and "several Python files (x.py, y.py)" in subs["cy"].problem
    assert subs["dee"].file is None and "no Python file" in subs["dee"].problem
    assert subs["eve.ipynb"].file is None and "not a Python file" in subs["eve.ipynb"].problem


def test_content_hash_follows_every_file(tmp_path: Path) -> None:
    _tree(tmp_path, {"bob/solution.py": "a", "bob/util.py": "b"})
    (sub,) = discover(tmp_path)
    before = content_hash(sub)
    assert content_hash(sub) == before
    (tmp_path / "bob" / "util.py").write_text("c")
    assert content_hash(sub) != before


@pytest.mark.parametrize("make", [False, True])
def test_no_submissions_is_a_one_line_error(tmp_path: Path, make: bool) -> None:
    folder = tmp_path / "class"
    if make:
        folder.mkdir()
    with pytest.raises(HandgradError) as e:
        discover(folder)
    one_line_error(e, str(folder))
