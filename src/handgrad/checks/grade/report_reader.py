"""The child process that reads one written report for the grader; it never runs code.

    python -P -m handgrad.checks.grade.report_reader CPU_S MEMORY_MB WRITE_MB SEED FILE [PROBLEM]

limits itself (`limits.apply`) and prints the ``handgrad.report/1`` document of
`handgrad.checks.report.check_report` with ``run_code=False``: a report is untrusted
text, and a notebook's code cells are learner code, which only ever runs in the
sandbox (`harness`). Exit 0 with the document, or 2 with one line on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from handgrad.checks.grade.limits import apply


def main(argv: Sequence[str]) -> int:
    cpu, memory, write, seed, file, *problem = argv
    apply(float(cpu), float(memory), float(write))
    from handgrad.checks.report import check_report
    from handgrad.errors import HandgradError

    try:
        check = check_report(file, problem[0] if problem else None, seed=int(seed), run_code=False)
    except HandgradError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    json.dump(check.to_json(), sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
