"""``handgrad check report``: text, JSON and HTML, exit codes, one-line errors."""

from __future__ import annotations

import json

from tests.checks.report.reports import EXAMPLES

from handgrad.cli import main


def test_cli_text_json_html_and_exit_codes(capsys, tmp_path):
    path = EXAMPLES / "report_mistake.md"
    assert main(["check", "report", str(path)]) == 1
    assert "eq. (5)" in capsys.readouterr().out
    assert main(["check", "report", str(path), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "handgrad.report/1"
    assert {e["status"] for e in doc["equations"]} == {"ok", "wrong"}
    assert doc["problems"]["multitask"]["schema"] == "handgrad.formulas/1"
    assert main(["check", "report", str(path), "--format", "html"]) == 1
    page = capsys.readouterr().out
    assert "<math" in page and page.count("<svg") == 2  # a heatmap per wrong equation
    assert main(["check", "report", str(tmp_path / "none.md")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
