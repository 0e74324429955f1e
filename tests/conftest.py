"""Shared fixtures.

``shared_data``: the folder of real IDX datasets (``$HANDGRAD_DATA``, else
``../shared/data`` beside the repository). Tests that need it skip only when it is absent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    env = os.environ.get("HANDGRAD_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if (c / "mnist").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("real datasets not found: set HANDGRAD_DATA or put them in ../shared/data")
    return d


@pytest.fixture
def logreg_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test-only experiment ``logreg`` (tests/experiments/logreg.py) registered as a
    user does: on the import path and named in $HANDGRAD_EXPERIMENTS (so sweep workers
    and new processes inherit it)."""
    from handgrad.training import registry

    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.setenv(registry.ENV_VARIABLE, "tests.experiments.logreg")


@pytest.fixture
def without_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the test, ``import ray`` fails as if Ray were not installed."""
    monkeypatch.setitem(sys.modules, "ray", None)  # None in sys.modules: ImportError


def one_line_error(excinfo: pytest.ExceptionInfo, *needles: str) -> str:
    """Assert a raised error's message is one line containing every needle; return it."""
    msg = str(excinfo.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def cli_error(capsys: pytest.CaptureFixture, argv: list[str], code: int, *needles: str) -> str:
    """Run ``handgrad argv`` in-process; assert it exits with ``code`` after printing one
    line on stderr, with no traceback, containing every needle; return that line."""
    from handgrad.cli import main

    got = main(argv)
    out, err = capsys.readouterr()
    assert got == code, (got, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in out + err
    for needle in needles:
        assert needle in err, (needle, err)
    return err.strip()


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs mounted at ``tmp_path/disk``; skips where mounting is not allowed."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
            capture_output=True,
            text=True,
        )
    except OSError as e:
        pytest.skip(f"cannot mount a tmpfs here ({e})")
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()})")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Take all free space of the filesystem of ``disk`` but ``leave`` bytes; returns the
    filler file (delete it to free the space)."""
    filler = disk / "filler"
    st = os.statvfs(disk)
    size = st.f_bavail * st.f_frsize - leave
    with open(filler, "ab") as f:
        if size > 0:
            os.posix_fallocate(f.fileno(), f.tell(), size)
    return filler
