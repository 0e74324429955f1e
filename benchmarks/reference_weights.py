"""Fingerprints of the weights of short seed-0 reference runs, per engine: a refactor of
the engines or kernels that should change no number is checked by comparing two runs.

    uv run python benchmarks/reference_weights.py --out before.json       # on the old code
    uv run python benchmarks/reference_weights.py --compare before.json   # on the new code

Each case trains with ``handgrad train`` (the command users run, seed 0) on each engine
and hashes every array of its weights.npz (SHA-256 of names and bytes, 16 hex digits).
With ``--compare`` the table says, per case and engine, whether the weights are the same
bit for bit; the exit code is 1 if any differs. Fingerprints depend on the machine (a
BLAS rounds differently on other CPUs): compare runs of one machine only.
Needs the MNIST files (``--data-dir`` or $HANDGRAD_DATA) for the MNIST cases.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CASES = {
    "mlp-sgd": ["mlp", "--epochs", "2", "--train-subset", "6000"],
    "mlp-momentum": ["mlp", "--epochs", "1", "--train-subset", "6000", "--momentum", "0.9",
                     "--weight-decay", "1e-4"],
    "mlp-adam": ["mlp", "--epochs", "1", "--train-subset", "6000", "--optimizer", "adam",
                 "--lr", "1e-3"],
    "mlp-bn-dropout": ["mlp", "--epochs", "1", "--train-subset", "3000", "--batchnorm",
                       "--dropout", "0.2"],
    "vae-mnist": ["vae", "--dataset", "mnist", "--epochs", "1"],
    "vae-gauss": ["vae", "--dataset", "gauss-diag", "--epochs", "2"],
    "multitask": ["multitask", "--epochs", "3"],
}  # fmt: skip
ENGINES = ("numpy", "fused")


def fingerprint(weights: Path) -> str:
    """SHA-256 over the sorted names and raw bytes of every array in ``weights``."""
    digest = hashlib.sha256()
    with np.load(weights) as arrays:
        for name in sorted(arrays.files):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:16]


def run_case(args: list[str], engine: str, data_dir: str | None) -> str:
    """The fingerprint of one ``handgrad train`` run, or "failed: <last stderr line>"."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "handgrad", "train", *args, "--engine", engine,
               "--out", f"{tmp}/run", "--no-progress"]  # fmt: skip
        if data_dir and args[0] in ("mlp", "vae"):
            cmd += ["--data-dir", data_dir]
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        if done.returncode:
            lines = done.stderr.strip().splitlines() or ["no output"]
            return f"failed: {lines[-1]}"
        return fingerprint(Path(tmp) / "run" / "weights.npz")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the fingerprints to this JSON file")
    parser.add_argument("--compare", help="a JSON file of fingerprints from an earlier run")
    parser.add_argument("--data-dir", default=os.environ.get("HANDGRAD_DATA"))
    parser.add_argument("--only", nargs="*", choices=sorted(CASES), help="these cases only")
    args = parser.parse_args(argv)
    before = json.loads(Path(args.compare).read_text()) if args.compare else {}
    now, differ = {}, False
    print(f"{'case':16} {'engine':7} {'fingerprint':18} same as before")
    for case in args.only or CASES:
        for engine in ENGINES:
            key = f"{case}/{engine}"
            now[key] = run_case(CASES[case], engine, args.data_dir)
            same = "" if key not in before else ("yes" if before[key] == now[key] else "NO")
            differ |= same == "NO"
            print(f"{case:16} {engine:7} {now[key]:18} {same}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(now, indent=1) + "\n")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
