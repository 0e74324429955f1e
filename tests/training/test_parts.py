"""handgrad.training.parts: the shared verdicts and the order of the report's sections."""

from __future__ import annotations

import json
import math
from pathlib import Path

from handgrad.training.parts import Section, bound, fell


def test_bound_says_which_relation_holds() -> None:
    assert bound(0.95, 0.9, at_least=True) == (True, "≥")
    assert bound(0.85, 0.9, at_least=True) == (False, "<")
    assert bound(1.0, 2.0, at_least=False) == (True, "≤")
    assert bound(3.0, 2.0, at_least=False) == (False, ">")
    assert bound(math.nan, 2.0, at_least=False)[0] is False


def _metrics(run_dir: Path, losses: list[float]) -> None:
    rows = [json.dumps({"epoch": i, "loss": loss}) + "\n" for i, loss in enumerate(losses, 1)]
    (run_dir / "metrics.jsonl").write_text("".join(rows))


def test_fell_reads_the_runs_first_and_last_epochs(tmp_path: Path) -> None:
    _metrics(tmp_path, [2.0])
    assert fell(tmp_path, "loss", "loss")[0] is False  # one epoch cannot show it
    _metrics(tmp_path, [2.0, 1.7, 1.5])
    assert fell(tmp_path, "loss", "loss", " nats") == (
        True,
        "loss 2.000 → 1.500 nats over 3 epochs",
    )


def test_sections_sort_by_their_numbers() -> None:
    def write(report: object) -> None:
        return None

    numbers = ["2.2", "1.10", "1.2", "2.1", "1.9"]
    ordered = sorted((Section(n, write) for n in numbers), key=Section.key)
    assert [s.number for s in ordered] == ["1.2", "1.9", "1.10", "2.1", "2.2"]
