"""SIGKILL a real training process at random moments; resuming must be bit-identical."""

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import kill_resume


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_identical(tmp_path, shared_data):
    ref = kill_resume.train(tmp_path / "reference", str(shared_data))
    assert ref.wait() == 0, ref.stderr.read()
    reference = kill_resume.load_arrays(tmp_path / "reference" / "weights.npz")
    rnd = random.Random(1)
    for i, delay in enumerate([rnd.uniform(0.0, 0.6)]):
        what, same = kill_resume.trial(reference, str(shared_data), tmp_path / f"t{i}", delay)
        assert same, what
        assert not list((tmp_path / f"t{i}").glob(".*.tmp")), "temporary files left behind"
