import os
import signal

import numpy as np
import pytest

from handgrad.models.mlp import MLP
from handgrad.optim import SGD, StepLR
from handgrad.training.checkpoint import TrainingState
from handgrad.training.loop import Diverged, TrainingInterrupted, check_finite, run_epochs
from handgrad.training.runs import Run, read_metrics


def make(tmp_path):
    model = MLP([2, 3, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.5)
    state = TrainingState(model, opt, StepLR(opt, step=1, gamma=0.5), {})
    return state, Run(tmp_path / "run", {"model": "test"})


def test_epochs_are_checkpointed_logged_and_scheduled(tmp_path):
    state, run = make(tmp_path)
    lines = []
    rows = run_epochs(
        state,
        run,
        3,
        lambda e: {"loss": 1.0 / e},
        lambda: {"acc": 0.5},
        lambda r: f"epoch {r['epoch']}",
        lines.append,
    )
    assert [r["lr"] for r in rows] == [0.5, 0.25, 0.125]
    assert lines == ["epoch 1", "epoch 2", "epoch 3"]
    assert [r["epoch"] for r in read_metrics(run.path)] == [1, 2, 3]
    assert (run.path / "checkpoint.npz").is_file()
    assert state.epoch == 3


def test_resumed_state_continues_where_it_stopped(tmp_path):
    state, run = make(tmp_path)
    state.epoch = 2
    seen = []
    run_epochs(state, run, 4, lambda e: seen.append(e) or {}, dict, str, lambda s: None)
    assert seen == [3, 4]


def test_sigterm_stops_with_a_resume_hint_and_keeps_the_checkpoint(tmp_path):
    state, run = make(tmp_path)

    def train_epoch(epoch):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return {}

    # the stop is honoured once the epoch in progress is checkpointed
    with pytest.raises(TrainingInterrupted, match=r"after epoch 2, checkpoint saved.*--resume"):
        run_epochs(state, run, 3, train_epoch, dict, str, lambda s: None)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    fresh, _ = make(tmp_path / "other")
    fresh.load(run.path / "checkpoint.npz")
    assert fresh.epoch == 2


def test_check_finite_names_epoch_step_and_place():
    check_finite(1.0, "the loss", 1, 1, lambda: "nowhere")
    with pytest.raises(
        Diverged,
        match=r"the loss became nan at epoch 3, step 7, first seen in "
        r"layer 2.*--lr",
    ):
        check_finite(float("nan"), "the loss", 3, 7, lambda: "layer 2")
    assert issubclass(Diverged, ValueError)


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path):
    state, run = make(tmp_path)

    def train_epoch(epoch):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # a stop request …
            os.kill(os.getpid(), signal.SIGINT)  # … and the impatient second one
        return {}

    with pytest.raises(TrainingInterrupted, match=r"at once; the checkpoint after epoch 1"):
        run_epochs(state, run, 3, train_epoch, dict, str, lambda s: None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_epoch_batches_follow_minibatches_and_resume_mid_epoch():
    from handgrad.training.batching import minibatches
    from handgrad.training.checkpoint import EpochProgress
    from handgrad.training.loop import epoch_batches

    rows = np.arange(10) * 10  # data whose rows name their index
    expected = list(minibatches(10, 3, np.random.default_rng(4)))
    got = list(epoch_batches(None, (rows, -rows), 3, np.random.default_rng(4), {}))
    assert [s for s, _ in got] == [1, 2, 3, 4]
    for (_, (a, minus_a)), b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, rows[b])
        np.testing.assert_array_equal(minus_a, -rows[b])

    state, _ = make_state_only()
    state.progress = EpochProgress(np.arange(10)[::-1].copy(), step=2, sums={"loss": 1.5})
    sums = {"loss": 0.0}
    rest = list(epoch_batches(state, (rows,), 3, np.random.default_rng(0), sums))
    assert [s for s, _ in rest] == [3, 4]
    np.testing.assert_array_equal(rest[0][1][0], [30, 20, 10])
    assert sums == {"loss": 1.5} and state.progress is None


def make_state_only():
    model = MLP([2, 3, 2], seed=0)
    opt = SGD(model.parameters(), lr=0.5)
    return TrainingState(model, opt, StepLR(opt, step=1), {}), None


class _Recorder:
    """A training step that records the batches `train_chunk` gets (no compiled loop)."""

    gathers_rows = False

    def __init__(self):
        self.batches, self.kwargs = [], []

    def train_chunk(self, rows, batch_size, index=None, **kwargs):
        self.kwargs.append(kwargs)
        outs = []
        for i in range(0, rows[0].shape[0], batch_size):
            self.batches.append(rows[0][i : i + batch_size].copy())
            outs.append(i)
        return outs


def test_chunk_steps_prepares_each_batch_by_its_step_number(monkeypatch):
    """``prepare(step, rows)`` sees each batch, numbered as `epoch_batches` numbers it,
    and the step trains on what it returns (e.g. a fresh binarisation per batch)."""
    from handgrad.fast import gather
    from handgrad.training.batching import minibatches
    from handgrad.training.loop import chunk_steps

    monkeypatch.setattr(gather, "GATHER_CHUNK_BYTES", 2 * 3 * 8)  # chunks of two batches
    rows = np.arange(10) * 10
    seen = []

    def prepare(step, batch):
        seen.append(step)
        return [batch[0] + 1000 * step]

    step = _Recorder()
    got = list(chunk_steps(step, None, (rows,), 3, np.random.default_rng(4), {}, prepare,
                           {"rng": "noise"}))  # fmt: skip
    expected = list(minibatches(10, 3, np.random.default_rng(4)))
    assert seen == [1, 2, 3, 4] and [s for s, *_ in got] == [1, 2, 3, 4]
    for s, (trained, picked) in enumerate(zip(step.batches, expected, strict=True), 1):
        np.testing.assert_array_equal(trained, rows[picked] + 1000 * s)
    assert [m for _, _, m, _ in got] == [3, 3, 3, 1]
    assert step.kwargs == [{"rng": "noise"}] * 2  # two chunks, each with the keywords


@pytest.mark.parametrize("diverge_in", [1, 2])
def test_a_diverged_run_says_whether_a_checkpoint_is_kept(tmp_path, diverge_in):
    state, run = make(tmp_path)

    def train_epoch(epoch):
        if epoch == diverge_in:
            check_finite(float("inf"), "the loss", epoch, 3, lambda: "layer 1")
        return {"loss": 1.0}

    with pytest.raises(Diverged) as error:
        run_epochs(state, run, 3, train_epoch, dict, str, log=lambda line: None)
    message = str(error.value)
    assert message.startswith("the loss became inf at epoch") and "--lr" in message
    if diverge_in == 1:
        assert "no checkpoint had been saved yet" in message
        assert not (run.path / "checkpoint.npz").exists()
    else:
        assert f"its last checkpoint is kept ({run.path}" in message
        assert (run.path / "checkpoint.npz").exists()
