"""The only code that runs beside a submission: evaluate its formulas on inputs it is sent.

    python -I -S harness.py SITE CPU_S MEMORY_MB WRITE_MB PROCESSES FILE

runs inside the submission's sandbox (`sandbox`), where handgrad is not importable: it
imports only the standard library, NumPy (from SITE) and the standalone modules copied
beside it (`wire`, `limits`, `handgrad.checks.notebook`, and the doctor's `call` and
`source`). It

1. keeps its stdin and stdout for the wire protocol (`wire`) and points file
   descriptors 0 and 1 elsewhere, so whatever the submission prints goes to stderr;
2. limits itself (`limits.apply`: CPU time, memory, file size, processes) before any of the
   submission's code runs;
3. runs FILE and answers with its manifest: ``{"op": "loaded", "formulas": [names],
   "problem": PROBLEM or null, "own_network": bool}`` or ``{"op": "loaded", "error": …}``;
4. answers each ``{"op": "call", "name": N, "scalars": {…}}`` + arrays (the namespace
   ``q``) with ``{"status": "ok"}`` + the array ``value``, ``{"status": "not_written"}``
   or ``{"status": "error", "message": one line}``; an optional ``"replace"`` list names
   formulas whose ``grad_`` function returns the array sent under that name during this
   call (the doctor's "evaluate it again with the true upstream");
5. exits on ``{"op": "bye"}`` or when stdin closes.

It never sees the truth, the rubric, the comparison or any result file: the grader
judges the arrays it returns in its own process. Whatever this process (or the
submission in it) writes on the protocol is checked by the grader like any input.
"""

from __future__ import annotations

import os
import sys
import types

if __name__ == "__main__":  # inside the sandbox: the standalone modules lie beside this file
    sys.path[:0] = [os.path.dirname(os.path.abspath(__file__)), sys.argv[1]]
    import call
    import limits
    import notebook
    import source
    import wire

    # the submission's own helper modules may have these names: free them
    del sys.path[0]
    for _name in ("call", "limits", "notebook", "source", "wire"):
        del sys.modules[_name]
else:  # imported by handgrad (tests, and the grader's checks of this file)
    from handgrad.checks import notebook
    from handgrad.checks.doctor import call, source
    from handgrad.checks.grade import limits, wire

# Libraries that compute gradients: importing one is named in the reason (the sandbox
# provides none of them; a rubric may allow named imports).
GRADIENT_LIBRARIES = (
    "autograd",
    "torch",
    "jax",
    "jaxlib",
    "tensorflow",
    "keras",
    "handgrad",
    "mxnet",
    "chainer",
    "theano",
    "paddle",
    "mlx",
    "sympy",
    "casadi",
    "tinygrad",
)
REPLY_BYTES = 16 * 1024 * 1024  # the largest array one formula may return


def missing_import_reason(error: BaseException | None, allowed: str = "NumPy") -> str | None:
    """A one-line reason for an import the sandbox cannot satisfy, else None."""
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    top = error.name.split(".")[0]
    if top in GRADIENT_LIBRARIES:
        return (
            f"imports {top}, a library that computes gradients; grading runs without it: "
            "derive the gradients by hand with NumPy"
        )
    return (
        f"imports {top}, which grading does not provide (only Python's standard library "
        f"and {allowed}); remove the import"
    )


def load(path: str) -> tuple[dict[str, object], dict[str, object]]:
    """The manifest of the submission at ``path`` (see the module doc), and its namespace.

    A ``.ipynb`` notebook runs as its code cells (`notebook.code_cells`); its errors name
    the cell.
    """
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.append(folder)  # its helper modules import; never ahead of the standard library
    shown = os.path.basename(path)
    try:
        if path.endswith(".ipynb"):
            namespace = _run_notebook(path, shown)
        else:
            namespace = source.run_source(path, shown=shown)
    except source.SourceError as e:
        reason = missing_import_reason(e.cause)
        return {"op": "loaded", "error": f"{shown}: {reason}" if reason else str(e)}, {}
    problem = namespace.get("PROBLEM")
    manifest = {
        "op": "loaded",
        "formulas": sorted(
            k[len("grad_") :]
            for k, v in namespace.items()
            if isinstance(k, str) and k.startswith("grad_") and callable(v)
        ),
        "problem": problem if isinstance(problem, str) else None,
        "own_network": "STEPS" in namespace,
    }
    return manifest, namespace


def _run_notebook(path: str, shown: str) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8-sig") as f:
            code = notebook.code_cells(f.read())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise source.SourceError(f"{shown}: {e}") from None
    return source.run_code(code, path, shown, lambda line: notebook.locate(code, line))


def answer(namespace: dict, header: dict, arrays: dict) -> tuple[dict, dict]:
    """The reply to one "call" request (see the module doc)."""
    name = header.get("name")
    f = namespace.get(f"grad_{name}") if isinstance(name, str) else None
    if not callable(f):
        return {"status": "error", "message": f"grad_{name} is not defined"}, {}
    scalars = header.get("scalars") or {}
    replace = [r for r in header.get("replace") or [] if isinstance(r, str)]
    values = {k: v for k, v in arrays.items() if k not in replace}
    q = types.SimpleNamespace(**values, **scalars)
    saved = {r: namespace.get(f"grad_{r}") for r in replace}
    for r in replace:
        namespace[f"grad_{r}"] = _returning(arrays.get(r))
    try:
        out = call.call_formula(f, q)
    except call.NotWritten:
        return {"status": "not_written"}, {}
    except call.FormulaError as e:
        return {"status": "error", "message": str(e)[:500]}, {}
    finally:
        namespace.update({f"grad_{r}": v for r, v in saved.items()})
    if out.nbytes > REPLY_BYTES:
        return {"status": "error", "message": f"returned {out.nbytes} bytes; far too large"}, {}
    return {"status": "ok"}, {"value": out}


def _returning(value):
    """A stand-in formula that returns ``value`` (a true upstream gradient), a fresh
    writable copy each call, as the learner's own formula would."""
    return lambda _q: None if value is None else value.copy()


def main(argv: list[str]) -> int:
    _site, cpu, memory, write, processes, path = argv
    read = wire.reader(os.dup(0))
    send = wire.writer(os.dup(1))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # the submission's prints go to stderr, never into the protocol
    limits.apply(float(cpu), float(memory), float(write), int(processes))
    manifest, namespace = load(path)
    send(wire.encode(manifest))
    if "error" in manifest:
        return 0
    while True:
        try:
            header, arrays = wire.decode(read)
        except EOFError:
            return 0
        if header.get("op") != "call":
            return 0
        reply, out = answer(namespace, header, arrays)
        send(wire.encode(reply, out))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
