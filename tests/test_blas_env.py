"""`import handgrad` sets OpenBLAS's short worker spin before NumPy loads, unless the user
set their own value, and says whether OpenBLAS got it (`handgrad.blas_env.short_spin`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = (
    "import {first}, os, handgrad.blas_env as b; "
    "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), b.short_spin())"
)


def probe(first: str, env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if env_value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_value
    code = PROBE.format(first=first)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(
    ("first", "env_value", "expected"),
    [
        ("handgrad", None, ["16", "True"]),  # handgrad first: the short spin, in time
        ("handgrad", "28", ["28", "False"]),  # the user's value wins
        ("numpy", None, ["16", "False"]),  # NumPy first: OpenBLAS already read its default
    ],
)
def test_openblas_spin_default_and_whether_openblas_saw_it(first, env_value, expected):
    assert probe(first, env_value) == expected
