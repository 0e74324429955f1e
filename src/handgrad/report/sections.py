"""What every section of the report shares: the report being built (`Sections`) and the
formatting of numbers.

A section is written by whoever declares its parts (`handgrad.training.parts.Section`:
each experiment in its own module, the gradient checks in `handgrad.reproduce.checks`);
its ``write(report)`` is given a `Sections`, which reads the reproduction's results and
each part's run files (summary.json, config.json, metrics.jsonl, PNGs) and lays out what
every section shows alike: the verdict line with links to the run's files, the figures
numbered by chapter, the note for a part that did not run. Nothing here knows any part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from handgrad.report.document import (
    Badge,
    Block,
    Document,
    Figure,
    Heading,
    Inline,
    Link,
    Paragraph,
)
from handgrad.reproduce.results import SKIPPED, PartResult, ReproduceResult
from handgrad.training.runs import read_json, read_metrics


def pct(x: float) -> str:
    """A fraction as a percentage with two decimals: 0.9518 → "95.18%"."""
    return f"{100 * x:.2f}%"


def seconds(s: float) -> str:
    """A duration for people: 8.2 s, 3 min 05 s, 1 h 02 min."""
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"


def words(items: list[Any]) -> str:
    """[1, 3, 6] → "1, 3 and 6"."""
    text = [str(i) for i in items]
    return " and ".join([", ".join(text[:-1]), text[-1]]) if len(text) > 1 else "".join(text)


class Sections:
    """The report of the reproduction ``result`` (read from ``out``) being laid out into
    ``doc``, section by section. Parts a section asks for (`part`, `parts_where`) are
    remembered: the others (`not_asked`) are shown generically at the end."""

    def __init__(self, out: Path, result: ReproduceResult, doc: Document):
        self.out = Path(out)
        self.result = result
        self.doc = doc
        self.figure_numbers: dict[str, int] = {}
        self._asked: set[str] = set()

    def add(self, *blocks: Block) -> None:
        """Append ``blocks`` to the document."""
        self.doc.add(*blocks)

    # --- the parts ----------------------------------------------------------------------
    def part(self, key: str) -> PartResult | None:
        """The result of the part ``key``; None if it was not part of this run."""
        self._asked.add(key)
        return next((p for p in self.result.parts if p.key == key), None)

    def parts_where(self, chosen: Callable[[str], bool]) -> list[PartResult]:
        """The results of the parts whose key is ``chosen``, in the order they ran."""
        found = [p for p in self.result.parts if chosen(p.key)]
        self._asked.update(p.key for p in found)
        return found

    def not_asked(self) -> list[PartResult]:
        """The results of the parts no section asked for, in the order they ran."""
        return [p for p in self.result.parts if p.key not in self._asked]

    # --- their run files ----------------------------------------------------------------
    def directory(self, part: PartResult) -> Path | None:
        """The part's directory, None if it has none (it was skipped)."""
        return None if part.directory is None else self.out / part.directory

    def summary(self, part: PartResult) -> dict[str, Any] | None:
        """The part's summary.json, None if it did not write one."""
        return self._read(part, "summary.json")

    def config(self, part: PartResult) -> dict[str, Any]:
        """The part's config.json, {} if it did not write one."""
        return self._read(part, "config.json") or {}

    def evaluation(self, part: PartResult) -> dict[str, Any] | None:
        """The part's evaluation.json (a re-evaluation of its run), None if there is none."""
        return self._read(part, "evaluation.json")

    def metrics(self, part: PartResult) -> list[dict[str, Any]]:
        """The rows of the part's metrics.jsonl, one per epoch."""
        d = self.directory(part)
        return [] if d is None else read_metrics(d)

    def _read(self, part: PartResult, name: str) -> dict[str, Any] | None:
        d = self.directory(part)
        return read_json(d / name) if d is not None and (d / name).is_file() else None

    # --- what every section shows alike -------------------------------------------------
    def run_line(self, part: PartResult) -> None:
        """Add the part's status, verdict, links to its run's files and duration, then
        its pass criterion and, for a run on a subset, the sizes it used."""
        line: list[Inline] = [Badge(part.status), " ", part.message]
        d = self.directory(part)
        if d is not None:
            links = [
                Link(name, f"{part.directory}/{name}")
                for name in ("config.json", "summary.json", "metrics.jsonl", "error.txt")
                if (d / name).is_file()
            ]
            line += [" · "]
            for i, link in enumerate(links):
                line += [link] if i == 0 else [", ", link]
            line += [f" · {seconds(part.seconds)}"]
        self.add(Paragraph(line))
        if part.status != SKIPPED:
            self.add(Paragraph(f"Pass criterion: {part.criterion}.", note=True))
        extra = part.data
        if extra.get("n_train"):
            self.add(
                Paragraph(
                    f"Quick run: trained on {extra['n_train']} examples, tested on "
                    f"{extra['n_test']}.",
                    note=True,
                )
            )

    def figures(
        self, part: PartResult, label: str = "", captions: dict[str, str] | None = None
    ) -> None:
        """Add every PNG of the part's directory, numbered within its chapter (the first
        field of its section): those named in ``captions`` ({file name: what it shows})
        first, in that order and with that caption, then the others by name, captioned
        by their name. ``label`` (e.g. the dataset) follows each caption."""
        d = self.directory(part)
        if d is None:
            return
        captions = captions or {}
        order = list(captions)
        pngs = sorted(
            d.glob("*.png"),
            key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name),
        )
        chapter = part.section.split(".")[0]
        for png in pngs:
            n = self.figure_numbers[chapter] = self.figure_numbers.get(chapter, 0) + 1
            what = captions.get(png.name, png.stem.replace("_", " "))
            where = f" ({label})" if label else ""
            self.add(Figure(png, f"Figure {chapter}.{n}. {what[0].upper()}{what[1:]}{where}"))

    def opened(self, heading: Heading, key: str, title: str) -> PartResult | None:
        """Add ``heading`` and return the result of the part ``key``; if it was not part
        of this run, add the line saying ``title`` (e.g. "The MLP run") did not run and
        return None."""
        self.add(heading)
        part = self.part(key)
        if part is None:
            self.missing(title)
        return part

    def missing(self, title: str) -> None:
        """Add the line saying that ``title`` (e.g. "The MLP run") did not run."""
        self.add(Paragraph([Badge(SKIPPED), f" {title} was not part of this run."]))
