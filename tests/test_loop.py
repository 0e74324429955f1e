import os
import signal

import pytest

from handgrad.checkpoint import TrainingState
from handgrad.loop import Diverged, TrainingInterrupted, check_finite, run_epochs
from handgrad.models.mlp import MLP
from handgrad.optim import SGD, StepLR
from handgrad.runs import Run, read_metrics


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

    with pytest.raises(TrainingInterrupted, match=r"after 1 complete epoch.*--resume"):
        run_epochs(state, run, 3, train_epoch, dict, str, lambda s: None)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    fresh, _ = make(tmp_path / "other")
    fresh.load(run.path / "checkpoint.npz")
    assert fresh.epoch == 1


def test_check_finite_names_epoch_step_and_place():
    check_finite(1.0, "the loss", 1, 1, lambda: "nowhere")
    with pytest.raises(
        Diverged,
        match=r"the loss became nan at epoch 3, step 7, first seen in "
        r"layer 2.*--lr",
    ):
        check_finite(float("nan"), "the loss", 3, 7, lambda: "layer 2")
    assert issubclass(Diverged, ValueError)
