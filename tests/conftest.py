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
