"""Notation files: symbols mapped by a teaching assistant; bad files are one-line errors."""

from __future__ import annotations

import pytest

from handgrad.checks.report import check_report, read_report
from handgrad.errors import HandgradError

from .reports import HEAD


def test_a_notation_file_maps_symbols(tmp_path):
    notation = tmp_path / "n.toml"
    notation.write_text('problem = "multitask"\n[symbols]\n"g" = "z2B"\n')
    text = r"$$\frac{\partial L}{\partial g^i} = \frac{1}{m}(\hat{y}_B^i - y_B^i) \tag{1}$$"
    rows = {r.reading.where: r for r in check_report(text, notation=notation).rows}
    assert rows["eq. (1)"].verdict.status == "ok"


@pytest.mark.parametrize(
    ("content", "message"),
    [("[symbols]\nx = 1\n", "write \\[symbols\\]"), ("[symbols\n", "not a readable TOML")],
)
def test_bad_notation_files_are_one_line_errors(tmp_path, content, message):
    notation = tmp_path / "n.toml"
    notation.write_text(content)
    with pytest.raises(HandgradError, match=message):
        read_report(HEAD + "$$a = b$$", notation=notation)
