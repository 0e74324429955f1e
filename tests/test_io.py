"""atomic_write: the target is either the old or the new complete file, never partial."""

from __future__ import annotations

import pytest

from handgrad.io import atomic_write


def test_writes_and_creates_parent_directories(tmp_path):
    path = tmp_path / "a" / "b" / "f.txt"
    with atomic_write(path, "w") as f:
        f.write("hello")
    assert path.read_text() == "hello"
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_replaces_an_existing_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path, exc):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(exc), atomic_write(path, "w") as f:
        f.write("half of the new")
        raise exc()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_target_is_untouched_until_the_block_ends(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with atomic_write(path, "w") as f:
        f.write("new")
        f.flush()
        assert path.read_text() == "old"
    assert path.read_text() == "new"
