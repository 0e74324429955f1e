"""The child process of one submission: limit itself, then run a handgrad command.

    python -P -m handgrad.checks.grade.worker CPU_S MEMORY_MB WRITE_MB [--path DIR] -- ARGS…

sets its CPU-time, address-space and file-size limits (`handgrad.checks.grade.limits`),
appends DIR (the submission's folder, so its helper modules import) to the end of
``sys.path``, and runs ``handgrad ARGS…`` (the gradient doctor, ``check formulas FILE
--format json``) with its exit code. The limits are in place before any of the
submission's code runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from handgrad.checks.grade.limits import apply


def main(argv: Sequence[str]) -> int:
    argv = list(argv)
    split = argv.index("--")
    head, args = argv[:split], argv[split + 1 :]
    cpu, memory, write = (float(v) for v in head[:3])
    if head[3:5] and head[3] == "--path":
        sys.path.append(head[4])
    apply(cpu, memory, write)
    from handgrad.cli import main as handgrad

    return handgrad(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
