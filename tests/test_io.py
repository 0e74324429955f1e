"""atomic_write: the target is either the old or the new complete file, never partial."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import pytest

from handgrad.errors import HandgradError, MachineFault
from handgrad.io import atomic_write, lock_folder


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


def test_files_get_the_mode_the_umask_allows(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "f.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        (errno.ENOSPC, MachineFault, "no space left on"),
        (errno.EROFS, MachineFault, "mounted read-only"),
        (errno.EACCES, MachineFault, "permission denied on"),
        (errno.EISDIR, HandgradError, "is a folder, not a file"),
    ],
)
def test_an_os_error_is_one_line_and_keeps_the_old_file(tmp_path, code, kind, words):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(kind) as excinfo, atomic_write(path, "w") as f:
        f.write("new")
        raise OSError(code, os.strerror(code), str(path))
    message = str(excinfo.value)
    assert "\n" not in message and words in message and str(path) in message
    if kind is MachineFault:
        assert excinfo.value.errno == code and "the previous f.txt is intact" in message
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_file_where_a_folder_should_be_is_bad_input(tmp_path):
    (tmp_path / "file").write_text("mine")
    with pytest.raises(HandgradError, match="file is a file, not a folder"):
        with atomic_write(tmp_path / "file" / "f.txt", "w") as f:
            f.write("x")


HOLD = "import sys, time; from handgrad.io import lock_folder; f = lock_folder(sys.argv[1]); "


def test_lock_refuses_another_process_until_it_exits(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD + "print('held', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(HandgradError, match=f"in use by another training \\(pid {holder.pid} "):
            lock_folder(tmp_path)
        lock = lock_folder(tmp_path / "elsewhere")  # other folders are free
        lock.close()
    finally:
        holder.communicate("")  # the holder exits normally: its lock is released
    lock_folder(tmp_path).close()
    again = lock_folder(tmp_path)  # one process may lock a folder twice
    lock_folder(tmp_path).close()
    again.close()
