import io
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handgrad.errors import HandgradError
from handgrad.models.mlp import MLP
from handgrad.optim import SGD, Adam, StepLR
from handgrad.training.checkpoint import TrainingState


def make_state(seed=0, optimizer="sgd", hidden=4):
    model = MLP([3, hidden, 2], dropout=0.3, seed=seed)
    opt = (
        SGD(model.parameters(), lr=0.1, momentum=0.9)
        if optimizer == "sgd"
        else Adam(model.parameters())
    )
    return TrainingState(model, opt, StepLR(opt, step=2), {"shuffle": np.random.default_rng(7)})


def advance(state, steps=3):
    """Train a few steps so every piece of state moves away from its initial value."""
    x = np.random.default_rng(1).random((5, 3), dtype=np.float32)
    for _ in range(steps):
        state.model.forward(x)
        state.optimizer.zero_grad()
        state.model.backward(np.ones((5, 2), dtype=np.float32))
        state.optimizer.step()
    state.schedule.step()
    state.rngs["shuffle"].random(4)
    state.epoch, state.metrics = 1, [{"epoch": 1, "loss": 0.5}]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_round_trip_restores_everything(tmp_path, optimizer):
    a = make_state(optimizer=optimizer)
    advance(a)
    a.save(tmp_path / "ck.npz")
    b = make_state(seed=5, optimizer=optimizer)
    b.load(tmp_path / "ck.npz")
    for (na, pa), (nb, pb) in zip(
        a.model.named_parameters(), b.model.named_parameters(), strict=True
    ):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    for k, v in a.optimizer.state_dict().items():
        np.testing.assert_array_equal(v, b.optimizer.state_dict()[k])
    assert (b.epoch, b.metrics, b.schedule.epoch) == (a.epoch, a.metrics, a.schedule.epoch)
    assert b.optimizer.lr == a.optimizer.lr
    # Every generator, including the dropout one inside the model, continues identically.
    for name, rng in a.all_rngs().items():
        np.testing.assert_array_equal(rng.random(3), b.all_rngs()[name].random(3))


def test_checkpoint_of_another_model_is_a_clean_error(tmp_path):
    a = make_state(hidden=4)
    a.save(tmp_path / "ck.npz")
    with pytest.raises(HandgradError, match=r"ck\.npz: .*shape"):
        make_state(hidden=5).load(tmp_path / "ck.npz")


def test_corrupted_checkpoint_is_a_clean_error(tmp_path):
    path = tmp_path / "ck.npz"
    make_state().save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(HandgradError, match=r"ck\.npz"):
        make_state().load(path)


def test_truncated_checkpoint_is_a_clean_error(tmp_path):
    path = tmp_path / "ck.npz"
    make_state().save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(HandgradError, match=r"ck\.npz"):
        make_state().load(path)


def test_pickled_content_is_refused(tmp_path):
    path = tmp_path / "ck.npz"
    with zipfile.ZipFile(path, "w") as z:
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        z.writestr("model/layers.0.weight.npy", buf.getvalue())
    with pytest.raises(HandgradError):
        make_state().load(path)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "ck.npz"
    state = make_state()
    advance(state)
    state.save(path)
    return path.read_bytes()


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_checkpoints_load_or_fail_cleanly(tmp_path_factory, good_checkpoint, data):
    """Random truncations, byte flips and random bytes: a clean error or a full load."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "random"]))
    raw = bytearray(good_checkpoint)
    if kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
    else:
        raw = bytearray(data.draw(st.binary(max_size=2000)))
    path = tmp_path_factory.getbasetemp() / "fuzz.npz"
    path.write_bytes(bytes(raw))
    state = make_state()
    try:
        state.load(path)
    except HandgradError as e:
        assert "\n" not in str(e)
    else:
        assert state.epoch == 1
