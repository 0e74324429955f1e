"""Kill training with SIGKILL at random moments, resume, and compare with an unbroken run.

    uv run python benchmarks/kill_resume.py --runs 10 --data-dir ../shared/data

Each trial starts `handgrad train mlp` (a small MNIST subset, a few epochs), kills it
with SIGKILL a random delay after its first checkpoint (so anywhere in training:
mid-epoch, mid-checkpoint-write, during the figures), checks that the latest checkpoint
loads, resumes
with ``--resume`` (restarting from scratch when the kill came before the first
checkpoint), and compares the final weights bit for bit with an uninterrupted run.
Prints one row per trial and exits non-zero if any trial differs.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from handgrad.experiments.mlp import EXPERIMENT, MLPConfig, build_model, build_optimizer
from handgrad.training.checkpoint import CHECKPOINT_NAME, TrainingState
from handgrad.training.runs import load_arrays

SETTINGS = [
    "--train-subset",
    "20000",
    "--epochs",
    "8",
    "--batch-size",
    "32",
    "--dropout",
    "0.1",
    "--momentum",
    "0.9",
    "--lr-step",
    "2",
    "--no-progress",
]


def train(out: Path, data_dir: str, *extra: str) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "handgrad",
        "train",
        "mlp",
        "--data-dir",
        data_dir,
        "--out",
        str(out),
        *SETTINGS,
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def checkpoint_loads(run_dir: Path) -> bool:
    """Whether the run's latest checkpoint loads into a fresh model of its config."""
    config: MLPConfig = EXPERIMENT.load_config(run_dir)
    model = build_model(config, 784, 10)
    opt, sched = build_optimizer(config, model)
    TrainingState(model, opt, sched, {"shuffle": np.random.default_rng()}).load(
        run_dir / CHECKPOINT_NAME
    )
    return True


def trial(reference: dict, data_dir: str, work: Path, delay: float) -> tuple[str, bool]:
    """One kill-and-resume trial; returns (what happened, identical to reference).

    The process is killed ``delay`` seconds after its first checkpoint appears (or after
    it starts, when ``delay`` < 0), so the kill lands inside training.
    """
    proc = train(work, data_dir)
    if delay >= 0:
        while proc.poll() is None and not (work / CHECKPOINT_NAME).exists():
            time.sleep(0.01)
    time.sleep(abs(delay))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if (work / "weights.npz").exists():
        what = "finished before the kill"
    elif (work / CHECKPOINT_NAME).exists():
        checkpoint_loads(work)
        epoch = int(load_arrays(work / CHECKPOINT_NAME)["meta/epoch"])
        what = f"killed after epoch {epoch}, resumed"
        resumed = train(work, data_dir, "--resume", str(work))
        if resumed.wait() != 0:
            return f"resume failed: {resumed.stderr.read().strip()}", False
    else:
        what = "killed before the first checkpoint, restarted"
        again = train(work, data_dir, "--overwrite")
        if again.wait() != 0:
            return f"restart failed: {again.stderr.read().strip()}", False
    final = load_arrays(work / "weights.npz")
    same = final.keys() == reference.keys() and all(
        np.array_equal(final[k], reference[k]) for k in reference
    )
    return what, same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--data-dir", default=os.environ.get("HANDGRAD_DATA", "../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref = train(tmp / "reference", args.data_dir)
        while ref.poll() is None and not (tmp / "reference" / CHECKPOINT_NAME).exists():
            time.sleep(0.01)
        start = time.perf_counter()
        if ref.wait() != 0:
            print(ref.stderr.read().strip(), file=sys.stderr)
            return 2
        window = time.perf_counter() - start  # from the first checkpoint to the end
        reference = load_arrays(tmp / "reference" / "weights.npz")
        print(f"uninterrupted run: {window:.2f} s from its first checkpoint to its end")
        print("kill at: seconds after the trial's first checkpoint")
        print(f"{'trial':>5}  {'kill at':>10}  {'identical':>9}  what happened")
        failures = 0
        for i in range(args.runs):
            delay = rnd.uniform(0.0, 0.6 * window)  # the reference's window includes a cold start
            what, same = trial(reference, args.data_dir, tmp / f"t{i}", delay)
            failures += not same
            print(f"{i:>5}  {delay:>9.2f}s  {'yes' if same else 'NO':>9}  {what}")
    print(f"{args.runs - failures} of {args.runs} trials identical to the uninterrupted run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
