"""handgrad.report: the document model, its HTML and Markdown renderers, and the content."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest

from handgrad.checks.formulas import REFERENCE_FORMULAS
from handgrad.errors import HandgradError
from handgrad.experiments import multitask
from handgrad.plots.common import new_figure, save_figure
from handgrad.report import write_report
from handgrad.report.document import (
    Badge,
    Code,
    Document,
    Equation,
    Figure,
    Heading,
    Link,
    Math,
    Paragraph,
    Table,
)
from handgrad.report.html import render_html
from handgrad.report.markdown import render_markdown
from handgrad.report.mathml import to_mathml
from handgrad.report.sections import pct, seconds
from handgrad.reproduce import runner as rp
from handgrad.reproduce.plan import smoke_plan
from handgrad.training.runs import read_json

PARTS = ("checks-layers", "checks-network", "checks-formulas", "multitask", "vae-gauss-diag")


@pytest.fixture
def png(tmp_path: Path) -> Path:
    fig, ax = new_figure(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    return save_figure(fig, tmp_path / "runs" / "curve.png")


@pytest.fixture
def doc(tmp_path: Path, png: Path) -> Document:
    d = Document("A <title>", tmp_path)
    d.add(
        Heading(2, "Part | one", "p1"),
        Paragraph([Badge("passed"), " x < y & ", Link("config", "runs/config.json")]),
        Paragraph(["inline ", Math(r"\frac{a}{b}"), " and ", Code("handgrad reproduce")], True),
        Table(["name", "value"], [["a|b", "1.0"], [[Badge("failed")], "2.0"]], numeric=(1,)),
        Figure(png, "Figure 1. A curve"),
        Equation(r"\frac{\partial L}{\partial \theta} = x^\top", Badge("skipped"), "note"),
    )
    return d


def test_html_is_self_contained_and_escaped(doc: Document, png: Path) -> None:
    page = render_html(doc)
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport"' in page
    assert "<h1>A &lt;title&gt;</h1>" in page
    assert " x &lt; y &amp; " in page
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(e) for e in embedded] == [png.read_bytes()]
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from anywhere
    assert page.count("<math") == 2 and 'display="block"' in page
    assert "$" not in page and "\\frac" not in page
    assert '<span class="badge failed">failed</span>' in page
    assert '<td class="num">2.0</td>' in page
    assert '<a href="runs/config.json">config</a>' in page


def test_markdown_links_figures_relatively_and_keeps_math(doc: Document) -> None:
    md = render_markdown(doc)
    assert md.startswith("# A <title>\n")
    assert "![Figure 1. A curve](runs/curve.png)" in md
    assert "$\\frac{a}{b}$" in md
    assert "$$\n\\frac{\\partial L}{\\partial \\theta} = x^\\top\n$$" in md
    assert "| a\\|b | 1.0 |" in md
    assert "| --- | ---: |" in md
    assert "[config](runs/config.json)" in md and "`handgrad reproduce`" in md


def test_bad_latex_is_a_one_line_error() -> None:
    with pytest.raises(HandgradError, match="cannot render"):
        to_mathml(r"\frac{1}{")
    with pytest.raises(HandgradError, match=r"\\notacommand"):
        to_mathml(r"\notacommand x")


def test_formatting_helpers() -> None:
    assert pct(0.9518) == "95.18%"
    assert [seconds(s) for s in (8.21, 185, 3720)] == ["8.2 s", "3 min 05 s", "1 h 02 min"]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real reproduction of the parts that need no MNIST, at smoke sizes."""
    out = tmp_path_factory.mktemp("report")
    rp.reproduce(out, smoke_plan(), only=PARTS, download=False, log=lambda line: None)
    return out


def test_report_shows_every_figure_of_every_run(out: Path) -> None:
    page = (out / "report.html").read_text()
    pngs = sorted(out.glob("*/*.png"))
    assert len(pngs) >= 4
    embedded = {base64.b64decode(e) for e in re.findall(r"base64,([^\"]+)", page)}
    assert embedded == {p.read_bytes() for p in pngs}
    md = (out / "report.md").read_text()
    for p in pngs:
        assert f"]({p.relative_to(out).as_posix()})" in md


def test_report_numbers_come_from_the_runs(out: Path) -> None:
    page = (out / "report.html").read_text()
    mt = read_json(out / "multitask" / "summary.json")
    assert pct(mt["test_acc_b"]) in page and f"{mt['test_mse_a']:.4f}" in page
    vae = read_json(out / "vae-gauss-diag" / "summary.json")
    assert f"{vae['test_neg_elbo']:.3f}" in page and f"{vae['entropy']:.3f}" in page
    formulas = read_json(out / "checks-formulas" / "summary.json")
    for name in REFERENCE_FORMULAS:
        assert f"{formulas[name]['fd_max_rel_err']:.1e}" in page


def test_report_links_resolve_and_math_is_mathml(out: Path) -> None:
    page = (out / "report.html").read_text()
    hrefs = re.findall(r'href="([^"#]+)"', page)
    assert "multitask/config.json" in hrefs and "checks-layers/config.json" in hrefs
    for href in hrefs:
        assert (out / href).is_file(), href
    # 8 derived gradients + forward pass + layer formulas + inline math, none left as LaTeX
    assert page.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"') >= 15
    assert "$$" not in page and "\\frac" not in page


def test_report_marks_parts_not_run(out: Path) -> None:
    md = (out / "report.md").read_text()
    assert "The MLP run was not part of this run." in md
    assert "The MNIST VAE was not part of this run." in md


def test_failed_part_links_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(multitask, "train_multitask", broken)
    rp.reproduce(tmp_path, smoke_plan(), only=("multitask",), log=lambda line: None)
    md = (tmp_path / "report.md").read_text()
    assert "**❌ failed** LinAlgError: singular" in md
    assert "[error.txt](multitask/error.txt)" in md


def test_write_report_needs_a_reproduction(tmp_path: Path) -> None:
    with pytest.raises(HandgradError, match=r"reproduce\.json: file not found"):
        write_report(tmp_path)
