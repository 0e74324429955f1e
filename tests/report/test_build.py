"""handgrad.report.build: the sections in their places, written by whoever declares the
parts; the parts no section asks for at the end."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from handgrad.experiments import mlp, multitask, vae
from handgrad.report.build import build_document, sections
from handgrad.report.document import Heading
from handgrad.report.markdown import render_markdown
from handgrad.report.sections import Sections
from handgrad.reproduce import checks
from handgrad.reproduce.results import PASSED, RESULT_FILE, PartResult, ReproduceResult
from handgrad.training import registry
from handgrad.training.parts import Section
from handgrad.training.runs import write_json
from tests.experiments import logreg


def _reproduction(out: Path, parts: list[PartResult]) -> Path:
    """A reproduce.json listing ``parts`` (none of which has a directory)."""
    write_json(out / RESULT_FILE, ReproduceResult(out, "quick", parts).to_json())
    return out


def _headings(out: Path) -> list[str]:
    return re.findall(r"^#{2,4} (.+)$", render_markdown(build_document(out)), re.M)


def test_sections_come_in_the_order_of_their_numbers_checks_first() -> None:
    found = sections()
    assert [s.number for s in found] == ["1.1", "1.2", "2.1", "2.2"]
    assert found == [
        mlp.EXPERIMENT.report,
        vae.EXPERIMENT.report,
        checks.SECTION,
        multitask.EXPERIMENT.report,
    ]


def test_every_section_and_chapter_is_shown_in_place(tmp_path: Path) -> None:
    headings = _headings(_reproduction(tmp_path, []))
    assert headings == [
        "1. Part One: Code Implementation",
        "1.1 Multilayer Perceptron (MLP)",
        "1.2 Variational Autoencoder (VAE)",
        "MNIST",
        "2. Part Two: Back-propagation",
        "2.1 Gradients of the basic layers",
        "2.2 Feed-forward and back-propagation of the multi-task network",
        "The derived gradients, each checked",
        "The backward pass vs finite differences",
        "Training demo",
    ]


def _logreg(out: Path) -> Path:
    part = PartResult("logreg", "1.3", "Logistic regression", "accuracy ≥ 80%", PASSED, "96%")
    return _reproduction(out, [part])


@pytest.mark.usefixtures("logreg_registered")
def test_a_part_without_a_section_is_shown_under_other_experiments(tmp_path: Path) -> None:
    headings = _headings(_logreg(tmp_path))
    assert headings[-2:] == ["3. Other experiments", "1.3 Logistic regression"]


def test_an_experiment_with_a_section_shows_it_in_place(tmp_path: Path) -> None:
    def write(report: Sections) -> None:
        report.add(Heading(3, "1.3 Logistic regression, by its own section", "logreg"))
        part = report.part("logreg")
        assert part is not None
        report.run_line(part)

    registry.register(dataclasses.replace(logreg.EXPERIMENT, report=Section("1.3", write)))
    try:
        headings = _headings(_logreg(tmp_path))
    finally:
        registry.unregister("logreg")
    at = headings.index("1.3 Logistic regression, by its own section")
    assert headings[at - 1] == "MNIST" and headings[at + 1] == "2. Part Two: Back-propagation"
    assert "3. Other experiments" not in headings
