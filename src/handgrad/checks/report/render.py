"""A `ReportCheck` as text, as JSON (``handgrad.report/1``) and as HTML with the equations
rendered as MathML (offline, like ``handgrad reproduce``'s report).

JSON::

    {"schema": "handgrad.report/1", "file": "...",
     "equations": [{"where": "eq. (5)", "line": 92, "row": 1, "latex": "…", "lhs": "…",
                    "problem": "multitask", "quantity": "x1B",
                    "status": "ok" | "wrong" | "error" | "unreadable" | "not_checked",
                    "reason": null | "…", "notes": ["…"],
                    "verdict": {…handgrad.formulas/1 row…} | null,
                    "sgn_literal": {…} | null}, …],
     "counts": {"ok": …, "wrong": …, "error": …, "unreadable": …, "not_checked": …},
     "problems": {"multitask": {…handgrad.formulas/1 of the equations read…}, …},
     "code": {…handgrad.formulas/1…} | null}
"""

from __future__ import annotations

import html

from handgrad.checks.doctor.verdict import _page, _where, heatmap_svg

SCHEMA = "handgrad.report/1"


def status(row) -> str:
    if row.verdict is not None:
        return row.verdict.status
    return "unreadable" if row.reading.status == "unreadable" else "not_checked"


def _lhs_symbol(row) -> str:
    if row.verdict is not None and row.reading.entry is None:
        return row.verdict.symbol
    return row.reading.symbol or row.reading.lhs


def _diagnosis(row) -> str:
    if row.verdict is not None:
        return row.verdict.note
    return (
        f"cannot read: {row.reading.reason}"
        if status(row) == "unreadable"
        else (f"not checked: {row.reading.reason}")
    )


def _literal(row) -> str | None:
    v = row.literal
    if v is None:
        return None
    text = v.status.replace("_", " ")
    if v.status == "wrong":
        text += f" ({v.mistake}: {v.explanation})" if v.mistake else f" ({v.explanation})"
    return f"with sgn read literally: {text}"


def text(check) -> str:
    c = check.counts
    lines = [
        f"{check.file}: {len(check.rows)} gradient equations found — {c['ok']} correct, "
        f"{c['wrong']} wrong, {c['error']} error, {c['unreadable']} cannot be read, "
        f"{c['not_checked']} not checked"
    ]
    lines += [f"{name}: {rep.setting}" for name, rep in check.reports.items()]
    width = max([len(r.reading.where) for r in check.rows] + [4])
    sym_width = max([len(_lhs_symbol(r)) for r in check.rows] + [4])
    pad = " " * (width + 2)
    uses: dict[str, int] = {}
    for row in check.rows:
        for note in row.reading.notes:
            uses[note] = uses.get(note, 0) + 1
    shared = [n for n, k in uses.items() if k > 1 and n.startswith("`")]
    for row in check.rows:
        r, v = row.reading, row.verdict
        st = status(row).replace("_", " ")
        err = "" if v is None or v.rel_error is None else f"{v.rel_error:.1e}"
        head = f"{r.where:<{width}}  {_lhs_symbol(row):<{sym_width}}  {st:<11}  {err:>7}"
        lines.append(f"{head}  {_diagnosis(row)}".rstrip())
        if v is not None and v.status == "wrong" and _where(v):
            lines.append(f"{pad}where: {_where(v)}")
        if _literal(row):
            lines.append(f"{pad}{_literal(row)}")
        lines += [f"{pad}read: {note}" for note in r.notes if note not in shared]
    if shared:
        lines.append("read, wherever these symbols are used:")
        lines += [f"  {note}" for note in shared]
    if check.code is not None:
        lines += ["", "the notebook's grad_ functions:", str(check.code)]
    roots = [
        r
        for r in check.rows
        if r.verdict and r.verdict.status == "wrong" and not r.verdict.inherits
    ]
    if roots:
        first = ", ".join(f"{r.reading.where} ({_lhs_symbol(r)})" for r in roots)
        heirs = check.counts["wrong"] - len(roots)
        verb = "inherits" if heirs == 1 else "inherit"
        whose = "its" if len(roots) == 1 else "their"
        tail = f"; {heirs} more only {verb} {whose} error" if heirs else ""
        lines.append(f"start with {first}: wrong on its own{tail}")
    return "\n".join(lines)


def as_json(check) -> dict:
    rows = []
    for row in check.rows:
        r = row.reading
        member = r.chain.members[0]
        rows.append(
            {
                "where": r.where,
                "line": r.chain.math.line,
                "row": member.row,
                "latex": r.chain.math.tex,
                "lhs": r.lhs,
                "problem": r.problem,
                "quantity": r.quantity,
                "status": status(row),
                "reason": r.reason if row.verdict is None else None,
                "notes": list(r.notes),
                "verdict": row.verdict.to_dict() if row.verdict is not None else None,
                "sgn_literal": row.literal.to_dict() if row.literal is not None else None,
            }
        )
    return {
        "schema": SCHEMA,
        "file": check.file,
        "equations": rows,
        "counts": check.counts,
        "problems": {name: rep.to_json() for name, rep in check.reports.items()},
        "code": check.code.to_json() if check.code is not None else None,
    }


def _math(tex: str) -> str:
    from handgrad.report.mathml import to_mathml

    try:
        return to_mathml(tex, display=True)
    except Exception:
        return f"<code>{html.escape(tex)}</code>"


def html_table(check) -> str:
    colour = {"ok": "#1a7f37", "wrong": "#cf222e", "error": "#9a6700", "unreadable": "#9a6700"}
    body = []
    for row in check.rows:
        r = row.reading
        st = status(row)
        cell = html.escape(_diagnosis(row))
        if row.verdict is not None and row.verdict.status == "wrong" and _where(row.verdict):
            cell += f"<br><small>where: {html.escape(_where(row.verdict))}</small>"
            if row.verdict.heatmap is not None:
                cell += "<br>" + heatmap_svg(row.verdict.heatmap)
        if _literal(row):
            cell += f"<br><small>{html.escape(_literal(row))}</small>"
        for note in r.notes:
            cell += f"<br><small>read: {html.escape(note)}</small>"
        body.append(
            f"<tr><td>{html.escape(r.where)}</td><td>{_math(r.chain.math.tex)}</td>"
            f'<td style="color:{colour.get(st, "#57606a")};font-weight:bold">'
            f"{st.replace('_', ' ')}</td><td>{cell}</td></tr>"
        )
    c = check.counts
    return (
        f"<p><b>{html.escape(check.file)}</b>: {c['ok']} correct, {c['wrong']} wrong, "
        f"{c['error']} error, {c['unreadable']} cannot be read, {c['not_checked']} not checked</p>"
        "<table><thead><tr><th>where</th><th>equation</th><th>status</th><th>diagnosis</th>"
        "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        + (check.code._repr_html_() if check.code is not None else "")
    )


def page(check) -> str:
    return _page(f"Gradient check: {check.file}", html_table(check))
