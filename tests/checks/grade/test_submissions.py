"""Finding the submissions of a folder as LMS exports lay them out, hashing and copying them.

Most tests are written as a learner attacking the grader would write a submission: pipes
that block a reader, links out of the submission, sparse and huge files, deep and wide
trees, names that break a terminal or a table.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import one_line_error

from handgrad.checks.grade.submissions import (
    RefusedSubmission,
    Submission,
    content_hash,
    discover,
    safe_copy,
)
from handgrad.errors import HandgradError

FORMULAS = "import numpy as np\n\n\ndef grad_b2B(q):\n    return q['yB'] - 1\n"


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def _subs(folder: Path, **kw: Any) -> dict[str, Submission]:
    return {s.name: s for s in discover(folder, **kw)}


def _notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": []} for s in sources]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def _fast(fn: Callable[..., Any], *args: Any, seconds: float = 5.0) -> Any:
    """``fn(*args)``, failing the test if it takes ``seconds`` (a blocked open, a huge read)."""
    box: dict[str, Any] = {}

    def call() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as e:  # handed to the test below
            box["error"] = e

    worker = threading.Thread(target=call, daemon=True)
    start = time.monotonic()
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn.__name__} still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    assert time.monotonic() - start < seconds
    return box["value"]


def _refused(sub: Submission, *needles: str) -> str:
    """Assert ``sub`` is refused everywhere, quickly, with a one-line reason naming ``needles``."""
    assert sub.file is None
    assert "\n" not in sub.problem
    for needle in needles:
        assert needle in sub.problem, (needle, sub.problem)
    _fast(content_hash, sub)
    with pytest.raises(RefusedSubmission):
        _fast(safe_copy, sub, sub.path.parent.parent / "copy")
    return sub.problem


# --- layouts ------------------------------------------------------------------------------


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
            "fay.pdf": "%PDF-1.4",
            "gus.zip": "PK",
            ".hidden.py": "",
            "__pycache__/ann.cpython-311.pyc": "",
            "__MACOSX/._ann.py": "",
        },
    )
    (tmp_path / "hal").mkdir()
    subs = _subs(tmp_path)
    assert list(subs) == ["ann.py", "bob", "cy", "dee", "eve.ipynb", "fay.pdf", "gus.zip", "hal"]
    assert subs["ann.py"].file == tmp_path / "ann.py"
    assert subs["bob"].file == tmp_path / "bob" / "solution.py"  # the one defining grad_
    problems = {name: s.problem for name, s in subs.items() if s.file is None}
    assert problems == {
        "cy": "several Python files (x.py, y.py) and none defines grad_ functions; "
        "define each formula as def grad_<quantity>(…) in one of them",
        "dee": "the folder holds no Python file (.py), notebook (.ipynb) or report deriving "
        "gradients (.md, .tex) within 4 folder levels",
        "eve.ipynb": "not a Jupyter notebook: it has no list of cells; "
        "open it in Jupyter and save it again",
        "fay.pdf": "not a Python file (.py), a notebook (.ipynb), a written report (.md, .tex) "
        "or a folder holding one",
        "gus.zip": "an archive (.zip), not a Python file; extract it into a folder",
        "hal": "the folder is empty",
    }


def test_lms_exports(tmp_path: Path) -> None:
    moodle = "John Smith_12345_assignsubmission_file_"
    _tree(
        tmp_path,
        {
            "smithjohn_12345_67890_hw3.py": FORMULAS,  # Canvas, flat
            f"{moodle}/hw3/formulas.py": FORMULAS,  # Moodle
            f"{moodle}/hw3/README.md": "my derivations",
            "submission_123/formulas.py": FORMULAS,  # Gradescope
            "submission_123/submission_metadata.yml": "x: 1",
            "submission_metadata.yml": ":submission_123:\n  :submitters: []",
            "alice/alice_hw/src/formulas.py": "from util import h\n" + FORMULAS,  # a zip
            "alice/alice_hw/src/util.py": "def h(): ...",
            "alice/alice_hw/tests/test_formulas.py": "from formulas import grad_b2B",
            "alice/__MACOSX/alice_hw/src/._formulas.py": FORMULAS,
            "bo/hw3/src/.ipynb_checkpoints/work-checkpoint.ipynb": _notebook(FORMULAS),
            "bo/hw3/src/work.ipynb": _notebook("import numpy as np", FORMULAS),
            "bo/hw3/src/plots.py": "import matplotlib",
            "bo/hw3/data/make.py": "print('data')",
        },
    )
    subs = _subs(tmp_path)
    assert sorted(subs) == sorted(
        [moodle, "alice", "bo", "smithjohn_12345_67890_hw3.py", "submission_123"]
    )  # the Gradescope metadata file is no learner
    assert {n: s.file.relative_to(tmp_path) for n, s in subs.items() if s.file} == {
        "smithjohn_12345_67890_hw3.py": Path("smithjohn_12345_67890_hw3.py"),
        moodle: Path(moodle, "hw3/formulas.py"),
        "submission_123": Path("submission_123/formulas.py"),
        "alice": Path("alice/alice_hw/src/formulas.py"),
        "bo": Path("bo/hw3/src/work.ipynb"),
    }
    work = tmp_path.parent / "scratch"
    file = safe_copy(subs["alice"], work)
    assert file == Path("alice_hw/src/formulas.py")
    assert (work / file.parent / "util.py").read_text() == "def h(): ..."  # helper beside it
    assert not (work / "__MACOSX").exists()


def test_the_file_to_check_is_searched_four_folder_levels_down(tmp_path: Path) -> None:
    _tree(tmp_path, {"near/a/b/c/d/f.py": FORMULAS, "far/a/b/c/d/e/f.py": FORMULAS})
    subs = _subs(tmp_path)
    assert subs["near"].file == tmp_path / "near/a/b/c/d/f.py"
    assert subs["far"].problem == (
        "the folder holds no Python file (.py), notebook (.ipynb) or report deriving "
        "gradients (.md, .tex) within 4 folder levels"
    )


def test_several_files_defining_formulas_are_named(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "ann/formulas.py": FORMULAS,
            "ann/old/formulas_v1.ipynb": _notebook(FORMULAS),
            "ann/util.py": "",
            "bob/a.ipynb": _notebook("x = 1"),
            "bob/b.ipynb": _notebook("y = 2"),
        },
    )
    subs = _subs(tmp_path)
    assert subs["ann"].problem == (
        "several files define grad_ functions (formulas.py, old/formulas_v1.ipynb); keep one"
    )
    assert "several Python files (a.ipynb, b.ipynb) and none defines" in subs["bob"].problem


def test_a_notebook_longer_than_the_scan_is_searched_in_its_json(tmp_path: Path) -> None:
    image = "A" * (2 * 2**20)  # a plot's output: the scan cannot parse the whole notebook
    plots = {"cell_type": "code", "source": "plot()", "outputs": [{"data": image}]}
    cells = [{"cell_type": "code", "source": ["x = 1\n", "def grad_b2B(q): ..."]}, plots]
    _tree(tmp_path, {"ann/hw.ipynb": json.dumps({"nbformat": 4, "cells": cells})})
    _tree(tmp_path, {"ann/util.py": "", "bob/hw.ipynb": "{" + image, "bob/util.py": ""})
    subs = _subs(tmp_path)
    assert subs["ann"].file == tmp_path / "ann/hw.ipynb"
    assert "none defines grad_ functions in their first 1 MiB" in subs["bob"].problem


def test_a_broken_notebook_is_named_in_its_folder(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/hw/work.ipynb": '{"cells": 3}', "ann/notes.txt": ""})
    (sub,) = discover(tmp_path)
    assert sub.file is None
    assert sub.problem.startswith("hw/work.ipynb: not a Jupyter notebook: it has no list")


def test_no_submissions_is_a_one_line_error(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    with pytest.raises(HandgradError) as e:
        discover(folder)
    one_line_error(e, str(folder), "not a folder")
    folder.mkdir()
    (folder / ".DS_Store").write_text("")
    with pytest.raises(HandgradError) as e:
        discover(folder)
    one_line_error(e, str(folder), "holds no submissions")


# --- odd names and encodings ----------------------------------------------------------------


def test_a_bom_does_not_hide_the_formulas(tmp_path: Path) -> None:
    bom = "\ufeff"
    _tree(
        tmp_path,
        {
            "ann/formulas.py": bom + FORMULAS,
            "ann/util.py": "",
            "bob/nb.ipynb": bom + _notebook(FORMULAS),
            "bob/util.py": "",
        },
    )
    subs = _subs(tmp_path)
    assert subs["ann"].file == tmp_path / "ann/formulas.py"
    assert subs["bob"].file == tmp_path / "bob/nb.ipynb" and not subs["bob"].problem


def test_odd_names_are_shown_safely_and_kept_apart(tmp_path: Path) -> None:
    names = [
        "-rf.py",
        "José Núñez_4711_hw3.py",
        "evil\x1b[31m\nrow.py",
        "evil\x07\rrow.py",
        "evil\x1b\nrow.py",
        "Eve\u202eyp.py",
        "eve\u202eyp.py",
        os.fsdecode(b"caf\xe9.py"),
        "r\u00e9sum\u00e9.py",
        "re\u0301sume\u0301.py",
    ]
    for name in names:
        (tmp_path / name).write_text(FORMULAS)
    subs = discover(tmp_path)
    shown = [s.name for s in subs]
    assert len(set(shown)) == len(names)  # never two rows with one name
    assert len({n.casefold() for n in shown}) == len(names)
    assert {s.path.name for s in subs} == set(names)  # the real paths
    for s in subs:
        assert s.file == s.path and not s.problem
        assert s.name.isprintable() and "\u202e" not in s.name, s.name
        s.name.encode()  # no undecodable bytes left
        content_hash(s)
    by_path = {s.path.name: s.name for s in subs}
    assert by_path["-rf.py"] == "-rf.py"
    assert by_path["evil\x1b[31m\nrow.py"] == "evil?[31m?row.py"
    assert by_path["evil\x07\rrow.py"] == "evil??row.py"
    assert by_path["evil\x1b\nrow.py"] == "evil??row.py (2)"
    assert (by_path["Eve\u202eyp.py"], by_path["eve\u202eyp.py"]) == ("Eve?yp.py", "eve?yp.py (2)")
    assert by_path["r\u00e9sum\u00e9.py"] == "r\u00e9sum\u00e9.py (2)"  # NFC of an NFD name
    assert by_path[os.fsdecode(b"caf\xe9.py")] == "caf?.py"
    assert by_path["José Núñez_4711_hw3.py"] == "José Núñez_4711_hw3.py"
    work = tmp_path.parent / "scratch"
    assert safe_copy(subs[0], work) == Path(subs[0].path.name)
    assert (work / subs[0].path.name).read_text() == FORMULAS


def test_names_inside_a_folder_are_shown_safely(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/a\x1b]0;pwned\x07.py": FORMULAS, "ann/b.py": FORMULAS})
    (sub,) = discover(tmp_path)
    assert "(a?]0;pwned?.py, b.py)" in sub.problem and sub.problem.isprintable()


# --- attacks on the grader ----------------------------------------------------------------


def test_a_named_pipe_is_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ann.py")
    _tree(tmp_path, {"bob/formulas.py": FORMULAS})
    os.mkfifo(tmp_path / "bob" / "util.py")
    subs = _fast(_subs, tmp_path)
    _refused(subs["ann.py"], "it is a named pipe (FIFO), not a regular file")
    _refused(subs["bob"], "util.py is a named pipe (FIFO)")


def test_a_socket_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS})
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "ann" / "sock"))
        (sub,) = _fast(discover, tmp_path)
        _refused(sub, "sock is a socket")


def test_a_device_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS})
    try:  # /dev/zero: an endless read for a grader that opened it
        os.mknod(tmp_path / "ann/zero", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        os.mknod(tmp_path / "bob.py", stat.S_IFCHR | 0o600, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("creating device files needs CAP_MKNOD")
    subs = _fast(_subs, tmp_path)
    _refused(subs["ann"], "zero is a character device, not a regular file")
    _refused(subs["bob.py"], "it is a character device")


@pytest.mark.parametrize(
    ("link", "target", "where"),
    [
        ("ann/util.py", "../bob/formulas.py", "outside"),  # a classmate's file
        ("ann/util.py", "/etc/passwd", "outside"),
        ("ann/src", "/", "outside"),
        ("ann/util.py", "formulas.py", "inside"),
        ("ann/loop", "loop", "inside"),
        ("ann.py", "bob/formulas.py", "outside"),  # the whole submission a link
    ],
)
def test_a_link_is_refused_never_followed(
    tmp_path: Path, link: str, target: str, where: str
) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS, "bob/formulas.py": "secret = 1\n" + FORMULAS})
    (tmp_path / link).symlink_to(target)
    subs = _fast(_subs, tmp_path)
    name = link.split("/")[0]
    label = "it is" if "/" not in link else f"{link.split('/', 1)[1]} is"
    _refused(subs[name], f"{label} a symbolic link to {target} ({where} the submission)")
    before = content_hash(subs[name])
    (tmp_path / "bob/formulas.py").write_text("changed")  # the target never reaches the hash
    assert content_hash(subs[name]) == before


def test_a_sparse_3_gb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS})
    with open(tmp_path / "ann/weights.bin", "wb") as f:
        f.truncate(3 * 2**30)
    with open(tmp_path / "big.py", "wb") as f:
        f.truncate(3 * 2**30)
    subs = _fast(_subs, tmp_path, seconds=2)
    _refused(subs["ann"], "weights.bin is 3 GiB, over the 20 MiB limit")
    _refused(subs["big.py"], "it is 3 GiB, over the 20 MiB limit")


def test_files_adding_up_past_the_limit_are_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS, "ann/a.txt": "x" * 700, "ann/b.txt": "x" * 700})
    _tree(tmp_path, {"bob/formulas.py": FORMULAS, "bob/a.txt": "x" * 700})
    subs = _subs(tmp_path, max_bytes=1300)
    _refused(subs["ann"], "its files add up to more than 1.3 KiB")
    assert subs["bob"].file is not None and subs["bob"].max_bytes == 1300
    safe_copy(subs["bob"], tmp_path.parent / "bob")
    (tmp_path / "bob/b.txt").write_text("x" * 700)  # grown past it since discovery
    with pytest.raises(RefusedSubmission, match=r"add up to more than 1\.3 KiB"):
        safe_copy(subs["bob"], tmp_path.parent / "bob2")


def test_five_thousand_tiny_files_are_refused_fast(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS})
    for i in range(50):
        folder = tmp_path / "ann" / f"d{i}"
        folder.mkdir()
        for j in range(100):
            (folder / f"{j}.py").touch()
    (sub,) = _fast(discover, tmp_path, seconds=3)
    _refused(sub, "it holds more than 2000 files and folders")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "ann" / Path(*["d"] * 60)
    deep.mkdir(parents=True)
    (deep / "formulas.py").write_text(FORMULAS)
    (sub,) = _fast(discover, tmp_path)
    _refused(sub, "its folders nest deeper than 8 levels (d/d/d/d/d/d/d/d/d)")


def test_a_file_swapped_for_a_pipe_or_link_after_discovery_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS, "ann/util.py": "", "bob/formulas.py": "x"})
    (sub,) = (s for s in discover(tmp_path) if s.name == "ann")
    before = content_hash(sub)
    (tmp_path / "ann/util.py").unlink()
    os.mkfifo(tmp_path / "ann/util.py")
    with pytest.raises(RefusedSubmission, match=r"util\.py is a named pipe"):
        _fast(safe_copy, sub, tmp_path.parent / "a")
    assert _fast(content_hash, sub) != before
    (tmp_path / "ann/util.py").unlink()
    (tmp_path / "ann/util.py").symlink_to(tmp_path / "bob/formulas.py")
    with pytest.raises(RefusedSubmission, match=r"util\.py is a symbolic link"):
        safe_copy(sub, tmp_path.parent / "b")
    assert not (tmp_path.parent / "b" / "util.py").exists()


# --- hashing and copying --------------------------------------------------------------------


def test_content_hash_follows_every_file_and_name(tmp_path: Path) -> None:
    _tree(tmp_path, {"bob/solution.py": FORMULAS, "bob/util.py": "b", "bob/.git/HEAD": "x"})
    (sub,) = discover(tmp_path)
    before = content_hash(sub)
    assert content_hash(sub) == before
    (tmp_path / "bob/.git/HEAD").write_text("y")  # skipped: neither hashed nor copied
    assert content_hash(sub) == before
    seen = {before}
    for change in (
        lambda: (tmp_path / "bob/util.py").write_text("c"),
        lambda: (tmp_path / "bob/util.py").rename(tmp_path / "bob/util2.py"),
        lambda: (tmp_path / "bob/data").mkdir(),
        lambda: (tmp_path / "bob/data/x.txt").write_text(""),
    ):
        change()
        seen.add(content_hash(sub))
    assert len(seen) == 5


def test_safe_copy_copies_regular_files_with_fresh_permissions(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "ann/hw/formulas.py": FORMULAS,
            "ann/hw/run.sh": "#!/bin/sh",
            "ann/hw/__pycache__/formulas.cpython-311.pyc": "stale",
            "ann/.env": "TOKEN=1",
        },
    )
    (tmp_path / "ann/hw/empty").mkdir()
    os.chmod(tmp_path / "ann/hw/run.sh", 0o4777)
    (sub,) = discover(tmp_path)
    work = tmp_path.parent / "work"
    assert safe_copy(sub, work) == Path("hw/formulas.py")
    copied = sorted(p.relative_to(work).as_posix() for p in work.rglob("*"))
    assert copied == ["hw", "hw/empty", "hw/formulas.py", "hw/run.sh"]
    assert stat.S_IMODE((work / "hw/run.sh").stat().st_mode) == 0o644
    assert (work / "hw/formulas.py").read_text() == FORMULAS
    with pytest.raises(RefusedSubmission, match="not a Python file"):
        safe_copy(Submission("x", tmp_path / "x.pdf", None, "not a Python file"), work)


def test_a_file_gone_since_discovery_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"ann/formulas.py": FORMULAS, "ann/util.py": ""})
    (sub,) = discover(tmp_path)
    (tmp_path / "ann/formulas.py").unlink()
    with pytest.raises(RefusedSubmission, match=r"formulas\.py is gone"):
        safe_copy(sub, tmp_path.parent / "work")
