"""Damaged equations never crash the reader: each is read, or unreadable with a reason."""

from __future__ import annotations

import random

import pytest

from handgrad.checks.report import read_report
from handgrad.errors import HandgradError

from .test_seeds import R000, R003


@pytest.mark.skipif(not R003.is_file(), reason="../shared/seeds is not here")
def test_randomly_damaged_displays_of_the_seeds_are_read_or_refused():
    text = R003.read_text(encoding="utf-8") + R000.read_text(encoding="utf-8")
    displays = [line for line in text.splitlines() if "$$" in line]
    rng = random.Random(3)
    for _ in range(20):
        damaged = []
        for line in rng.sample(displays, 4):
            chars = list(line)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(chars))
                if rng.random() < 0.5:
                    del chars[i]
                else:
                    chars.insert(i, rng.choice("{}()[]^_\\|=+-&$ixT0"))
            damaged.append("".join(chars))
        try:
            reading = read_report("# Block Two\n\n" + "\n\n".join(damaged))
        except HandgradError:
            continue
        for r in reading.readings:
            assert r.status == "read" or r.reason, r


def test_an_equation_nested_thousands_deep_is_refused_with_a_reason():
    """It crashed the reader (and `handgrad check report`) with a RecursionError."""
    deep = r"\frac{" * 3000 + "y_i" + "}{2}" * 3000
    text = "# Softmax\n\n$$\\frac{\\partial y_i}{\\partial z_j} = " + deep + " \\tag{1}$$\n"
    (row,) = read_report(text).readings
    assert row.status == "unreadable" and "nested 3000 levels deep" in row.reason
