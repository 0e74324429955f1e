"""`fault`: an OSError becomes one line naming problem, place, what was kept and the fix."""

import errno
import os
import pickle

import pytest

from handgrad.errors import HandgradError, MachineFault, fault, mount_point


def oserror(code: int, path) -> OSError:
    return OSError(code, os.strerror(code), str(path))


def test_machine_fault_message_has_every_part(tmp_path):
    e = fault(oserror(errno.ENOSPC, tmp_path / "x"), doing="writing x", kept="y is intact")
    assert isinstance(e, MachineFault) and e.errno == errno.ENOSPC
    assert str(e) == (
        f"no space left on {mount_point(tmp_path)} while writing x; y is intact; "
        f"free space on {mount_point(tmp_path)} and run the command again"
    )
    later = e.with_context(kept="z is intact", then="continue with z")
    assert str(later).endswith(
        f"; z is intact; free space on {mount_point(tmp_path)} and continue with z"
    )


def test_machine_fault_survives_pickling(tmp_path):
    """The sweep's worker processes send it back to the driver."""
    e = fault(oserror(errno.EROFS, tmp_path), kept="k", then="t")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is MachineFault and str(back) == str(e) and back.errno == errno.EROFS


@pytest.mark.parametrize(
    ("reading", "need"), [(True, "readable"), (False, "writable"), (None, "accessible")]
)
def test_permission_denied_says_what_access_is_needed(tmp_path, reading, need):
    e = fault(oserror(errno.EACCES, tmp_path / "f"), reading=reading)
    assert f"make {tmp_path / 'f' if reading else tmp_path} {need} for you" in str(e)


def test_paths_in_the_way_are_bad_input(tmp_path):
    (tmp_path / "file").write_text("")
    e = fault(oserror(errno.ENOTDIR, tmp_path / "file" / "sub" / "x"))
    assert isinstance(e, HandgradError) and str(e).startswith(f"{tmp_path / 'file'} is a file")
    e = fault(oserror(errno.EISDIR, tmp_path))
    assert isinstance(e, HandgradError) and "is a folder, not a file" in str(e)


def test_an_unlisted_error_keeps_the_system_words(tmp_path):
    e = fault(oserror(errno.ENAMETOOLONG, tmp_path))
    assert isinstance(e, MachineFault) and str(e).startswith("file name too long at ")
