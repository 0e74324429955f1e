"""Run directories, JSON and array files: no overwrites, appends, clean errors, no pickles."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from handgrad.errors import HandgradError
from handgrad.training.runs import (
    Run,
    load_arrays,
    read_json,
    read_metrics,
    save_arrays,
    write_json,
)


def test_run_writes_config_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "run"
    run = Run(out, {"lr": 0.1, "path": tmp_path, "hidden": np.int64(50)})
    assert read_json(out / "config.json") == {"lr": 0.1, "path": str(tmp_path), "hidden": 50}
    assert run.file("weights.npz") == out / "weights.npz"
    with pytest.raises(HandgradError, match=r"already holds a run.*--overwrite"):
        Run(out, {"lr": 0.2})
    assert read_json(out / "config.json")["lr"] == 0.1  # untouched


def test_overwrite_replaces_config_and_metrics(tmp_path):
    Run(tmp_path, {"lr": 0.1}).log(epoch=0, loss=1.0)
    run = Run(tmp_path, {"lr": 0.2}, overwrite=True)
    assert read_json(tmp_path / "config.json") == {"lr": 0.2}
    assert not (tmp_path / "metrics.jsonl").exists()
    run.log(epoch=0)
    assert read_metrics(tmp_path) == [{"epoch": 0}]


def test_log_appends_one_json_line_per_call(tmp_path):
    run = Run(tmp_path, {})
    run.log(epoch=0, loss=np.float32(0.5), acc=np.array([1, 2]))
    run.log(epoch=1, loss=0.25)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == read_metrics(tmp_path)
    assert read_metrics(tmp_path) == [
        {"epoch": 0, "loss": 0.5, "acc": [1, 2]},
        {"epoch": 1, "loss": 0.25},
    ]


def test_read_metrics_errors(tmp_path):
    with pytest.raises(HandgradError, match=r"metrics\.jsonl: file not found"):
        read_metrics(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 0}\n\n{"epoch": 1\n')
    with pytest.raises(HandgradError, match=r"metrics.jsonl:3: malformed"):
        read_metrics(tmp_path)


def test_json_round_trip_and_errors(tmp_path):
    path = tmp_path / "sub" / "x.json"
    write_json(path, {"a": (1, 2), 3: np.float64(0.5)})
    assert read_json(path) == {"a": [1, 2], "3": 0.5}
    with pytest.raises(HandgradError, match="file not found"):
        read_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(HandgradError, match="not valid JSON"):
        read_json(tmp_path / "bad.json")


def test_arrays_round_trip_exactly(tmp_path):
    arrays = {
        "w": np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32),
        "layers.1.running_var": np.arange(5.0),
        "t": np.array(7),
    }
    save_arrays(tmp_path / "w.npz", arrays)
    loaded = load_arrays(tmp_path / "w.npz")
    assert set(loaded) == set(arrays)
    for k, v in arrays.items():
        assert loaded[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded[k], v)


def _truncated(tmp_path):
    save_arrays(tmp_path / "full.npz", {"w": np.arange(1000.0)})
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    return tmp_path / "cut.npz"


def _garbage(tmp_path):
    (tmp_path / "garbage.npz").write_bytes(b"this is not an npz file at all")
    return tmp_path / "garbage.npz"


def _npy(tmp_path):
    np.save(tmp_path / "plain.npy", np.arange(3))
    return tmp_path / "plain.npy"


def _pickle(tmp_path):
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"w": np.arange(3)}))
    return tmp_path / "p.npz"


def _object_array(tmp_path):
    with open(tmp_path / "o.npz", "wb") as f:
        np.savez(f, w=np.array([{"evil": 1}], dtype=object))
    return tmp_path / "o.npz"


def _bad_directory_offset(tmp_path):
    """An npz whose zip directory offset points past the file: a file-based reader's seek
    then fails with OSError EINVAL, which is the bytes' fault, not the machine's."""
    with open(tmp_path / "d.npz", "wb") as f:
        np.savez(f, w=np.arange(3))
    raw = bytearray((tmp_path / "d.npz").read_bytes())
    end = raw.rfind(b"PK\x05\x06")  # end-of-central-directory record
    raw[end + 16 : end + 20] = (2**31).to_bytes(4, "little")  # central directory offset
    (tmp_path / "d.npz").write_bytes(bytes(raw))
    return tmp_path / "d.npz"


@pytest.mark.parametrize(
    "make", [_truncated, _garbage, _npy, _pickle, _object_array, _bad_directory_offset]
)
def test_load_arrays_rejects_bad_files_with_one_line(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(HandgradError) as err:
        load_arrays(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_load_arrays_never_unpickles(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("load_arrays unpickled something")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    for make in (_pickle, _object_array):
        with pytest.raises(HandgradError):
            load_arrays(make(tmp_path))


def test_load_arrays_missing_file(tmp_path):
    with pytest.raises(HandgradError, match="file not found"):
        load_arrays(tmp_path / "nope.npz")
