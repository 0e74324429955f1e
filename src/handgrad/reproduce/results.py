"""What a reproduction produced: the result types, the only part of reproduce the report reads.

``out/reproduce.json`` holds a `ReproduceResult`: the mode, and per part a `PartResult`
(its status, verdict, criterion, directory and extra data). Each part's directory holds
its config.json and summary.json (training runs also metrics.jsonl and figures).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from handgrad import __version__
from handgrad.errors import HandgradError
from handgrad.training.runs import read_json

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
RESULT_FILE = "reproduce.json"


@dataclass
class PartResult:
    """How one part went. ``directory`` is relative to the output folder; ``data`` holds
    what the report needs beyond the run's files (e.g. the data subset it trained on,
    the reference settings it is compared with)."""

    key: str
    section: str
    title: str
    criterion: str
    status: str = SKIPPED
    message: str = ""
    directory: str | None = None
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReproduceResult:
    """Every part's result; written to ``out/reproduce.json``."""

    out: Path
    mode: str
    parts: list[PartResult]
    seconds: float = 0.0
    started: str = ""
    version: str = __version__

    @property
    def exit_code(self) -> int:
        """0 when no part that ran failed (skipped parts do not count), else 1."""
        return 1 if any(p.status == FAILED for p in self.parts) else 0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        d["exit_code"] = self.exit_code
        return d

    @classmethod
    def load(cls, out: str | Path) -> ReproduceResult:
        """Read ``out/reproduce.json`` back."""
        raw = read_json(Path(out) / RESULT_FILE)
        try:
            parts = [PartResult(**p) for p in raw["parts"]]
            return cls(
                Path(out), raw["mode"], parts, raw["seconds"], raw["started"], raw["version"]
            )
        except (KeyError, TypeError) as e:
            raise HandgradError(
                f"{Path(out) / RESULT_FILE}: not a reproduce result ({e}); run 'handgrad "
                "reproduce' again"
            ) from None
