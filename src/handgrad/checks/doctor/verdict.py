"""The doctor's verdicts: one row per quantity, and the whole check as text, JSON and HTML.

The JSON form is the stable schema ``handgrad.formulas/1`` (README, "The JSON schema")::

    {"schema": "handgrad.formulas/1", "problem": "multitask", "file": "f.py" | null,
     "formulas": [{"name", "symbol", "status", "rel_error", "worst_entries", "mistake",
                   "explanation", "fix", "inherits", "error", "rel_error_by_m"}, …],
     "counts": {"ok": 5, "wrong": 2, "not_given": 1, "error": 0}}

status is "ok", "wrong", "not_given" or "error"; rows come in backward order (from the
loss towards the inputs). ``mistake`` is the id of the one catalogued mistake that
reproduces the formula exactly on every batch tried, or null: "no known mistake
matches" is said plainly, never guessed.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field

import numpy as np

SCHEMA = "handgrad.formulas/1"
STATUSES = ("ok", "wrong", "not_given", "error")
NO_MATCH = "no known mistake matches"


@dataclass
class Verdict:
    """The verdict on one quantity's formula (the fields of the JSON schema, in order).

    ``rel_error`` is the worst relative error max|user − true| / max(|true|, |user|) over
    the batches tried; ``rel_error_by_m`` the same per batch size m (how the error
    depends on m); ``worst_entries`` up to 5 indices of the most wrong entries of the
    largest batch. ``heatmap`` (not in the JSON) is that batch's per-entry |user − true|
    divided by max|true|, for the HTML.
    """

    name: str
    symbol: str
    status: str
    rel_error: float | None = None
    worst_entries: list[list[int]] = field(default_factory=list)
    mistake: str | None = None
    explanation: str | None = None
    fix: str | None = None
    inherits: str | None = None
    error: str | None = None
    rel_error_by_m: dict[str, float] = field(default_factory=dict)
    heatmap: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("heatmap")
        return d

    @property
    def note(self) -> str:
        """The one line shown beside the status in the text table."""
        if self.status == "error":
            return self.error or ""
        if self.status != "wrong":
            return ""
        text = self.explanation or NO_MATCH
        return f"{text} — fix: {self.fix}" if self.fix else text


@dataclass
class Report:
    """Every quantity's verdict for one file (or one call from Python)."""

    problem: str
    file: str | None
    verdicts: list[Verdict]
    setting: str = ""  # one line: how the batches were drawn
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(v.status == s for v in self.verdicts) for s in STATUSES}

    @property
    def exit_code(self) -> int:
        """0 when every given formula is right, 1 when any is wrong or raised an error."""
        c = self.counts
        return 1 if c["wrong"] or c["error"] else 0

    def __getitem__(self, name: str) -> Verdict:
        for v in self.verdicts:
            if v.name == name:
                return v
        raise KeyError(name)

    def to_json(self) -> dict:
        """The ``handgrad.formulas/1`` object (see module doc)."""
        return {
            "schema": SCHEMA,
            "problem": self.problem,
            "file": self.file,
            "formulas": [v.to_dict() for v in self.verdicts],
            "counts": self.counts,
            "warnings": list(self.warnings),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    @property
    def shown(self) -> list[Verdict]:
        """The rows a table shows: all of them for a known problem; for a network of the
        learner's own (where every step is a quantity) only the formulas given."""
        if self.problem != "own":
            return self.verdicts
        return [v for v in self.verdicts if v.status != "not_given"]

    @property
    def hidden_note(self) -> str:
        """One line counting the not-given quantities a table leaves out, or ''."""
        left = [v.name for v in self.verdicts if v not in self.shown]
        if not left:
            return ""
        noun = "quantity" if len(left) == 1 else "quantities"
        return f"{len(left)} more {noun} not given: {', '.join(left)}"

    @property
    def summary(self) -> str:
        c = self.counts
        return (
            f"{c['ok']} correct, {c['wrong']} wrong, {c['error']} error, {c['not_given']} not given"
        )

    @property
    def advice(self) -> str:
        """The closing advice: where to start, and which formulas only inherit an error."""
        first = self.first_wrong
        if first is None:
            return ""
        heirs = [v.name for v in self.verdicts if v.inherits is not None]
        # the formulas wrong on their own: every inherited error starts at one of them
        roots = [v.symbol for v in self.verdicts if v.status == "wrong" and v.inherits is None]
        verb = "inherits" if len(heirs) == 1 else "inherit"
        tail = f"; {', '.join(heirs)} only {verb} an error: fix {', '.join(roots)} first"
        tail = tail if heirs else ""
        return f"start with {first.symbol}: the first wrong formula in backward order{tail}"

    def __str__(self) -> str:
        """A plain-text table: one row per quantity; a 'where' line under each wrong one."""
        head = f"{self.problem}: {self.file or 'formulas'}"
        lines = [head + (f" — {self.setting}" if self.setting else "")]
        lines += [f"warning: {w}" for w in self.warnings]
        width = max([len(v.name) for v in self.shown] + [4])
        for v in self.shown:
            err = "" if v.rel_error is None else f"{v.rel_error:.1e}"
            status = v.status.replace("_", " ")
            lines.append(f"{v.name:<{width}}  {status:<9}  {err:>7}  {v.note}".rstrip())
            if v.status == "wrong" and _where(v):
                lines.append(f"{'':<{width}}  {'':<9}  {'':>7}  where: {_where(v)}")
        lines += [line for line in (self.hidden_note, self.summary, self.advice) if line]
        return "\n".join(lines)

    @property
    def first_wrong(self) -> Verdict | None:
        """The first wrong formula in backward order (the loss's side first), if any."""
        return next((v for v in self.verdicts if v.status == "wrong"), None)

    def html_page(self) -> str:
        """A standalone HTML page of `_repr_html_` (``--format html``)."""
        return _page(f"Gradient check: {self.file or self.problem}", self._repr_html_())

    def _repr_html_(self) -> str:
        """A table for Jupyter: status, error, explanation, and a heatmap per wrong formula;
        the warnings, the closing advice and how the batches were drawn, as in the text."""
        rows = []
        big = max((int(m) for v in self.verdicts for m in v.rel_error_by_m), default=None)
        left = ' style="text-align:left;vertical-align:top"'
        for v in self.shown:
            err = "" if v.rel_error is None else f"{v.rel_error:.1e}"
            cell = html.escape(v.note)
            if v.status == "wrong" and _where(v):
                cell += f"<br><small>where: {html.escape(_where(v))}</small>"
                if v.heatmap is not None:
                    top = float(np.max(v.heatmap)) if np.size(v.heatmap) else 0.0
                    cell += (
                        "<br>" + heatmap_svg(v.heatmap) + "<br><small>per-entry |yours − true| "
                        f"/ max|true| at m = {big}: white 0 → red {top:.2g}</small>"
                    )
            colour = {"ok": "#1a7f37", "wrong": "#cf222e", "error": "#9a6700"}.get(
                v.status, "#57606a"
            )
            rows.append(
                f"<tr><td{left}><code>{html.escape(v.name)}</code></td>"
                f"<td{left}>{html.escape(v.symbol)}</td>"
                f'<td style="text-align:left;vertical-align:top;color:{colour};'
                f'font-weight:bold;white-space:nowrap">{v.status.replace("_", " ")}</td>'
                f'<td style="text-align:right;vertical-align:top">{err}</td>'
                f"<td{left}>{cell}</td></tr>"
            )
        titles = ("quantity", "formula", "status", "rel. error", "diagnosis")
        head = "".join(f"<th{left}>{h}</th>" for h in titles)
        setting = f" — {html.escape(self.setting)}" if self.setting else ""
        warnings = "".join(
            f'<p style="text-align:left;color:#9a6700">warning: {html.escape(w)}</p>'
            for w in self.warnings
        )
        after = "".join(
            f'<p style="text-align:left">{html.escape(line)}</p>'
            for line in (self.hidden_note, self.summary)
            if line
        )
        if self.advice:
            after += f'<p style="text-align:left"><b>{html.escape(self.advice)}</b></p>'
        return (
            f'<div style="text-align:left"><p style="text-align:left">'
            f"<b>{html.escape(self.problem)}</b>: {html.escape(self.file or 'formulas')}"
            f"{setting}</p>{warnings}"
            f'<table style="margin-left:0"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows)
            + f"</tbody></table>{after}</div>"
        )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5em;max-width:70em}"
        "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;"
        "vertical-align:top;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _where(v: Verdict) -> str:
    """Which entries are wrong and the relative error for each batch size m."""
    parts = []
    if v.worst_entries:
        parts.append("worst entries " + " ".join(str(tuple(e)) for e in v.worst_entries))
    if v.rel_error_by_m:
        per_m = ", ".join(f"{m}: {e:.2g}" for m, e in v.rel_error_by_m.items())
        parts.append(f"rel. error by m: {per_m}")
        right = [m for m, e in v.rel_error_by_m.items() if e == 0.0 or e < 1e-7]
        if right:
            parts.append(f"right at m = {','.join(right)}")
    return "; ".join(parts)


def heatmap_svg(err: np.ndarray, cell: int = 14) -> str:
    """An inline SVG heatmap of a per-entry error array (1-D shown as one row), white → red."""
    a = np.atleast_2d(np.asarray(err, dtype=np.float64))
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    top = float(a.max()) if a.size and a.max() > 0 else 1.0
    rects = []
    for (i, j), e in np.ndenumerate(a):
        t = min(max(e / top, 0.0), 1.0)
        g = round(255 * (1 - t))
        rects.append(
            f'<rect x="{j * cell}" y="{i * cell}" width="{cell}" height="{cell}" '
            f'fill="rgb(255,{g},{g})" stroke="#ddd"><title>[{i},{j}] {e:.2g}</title></rect>'
        )
    h, w = a.shape
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * cell}" height="{h * cell}" '
        f'role="img" aria-label="per-entry error">{"".join(rects)}</svg>'
    )
