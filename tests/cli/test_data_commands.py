"""``handgrad data info`` and ``handgrad data download`` end to end (offline)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from handgrad.cli import main
from handgrad.data import mnist
from handgrad.data.idx import read_idx, write_idx
from handgrad.data.mnist import FILES, TRAIN_IMAGES


@pytest.fixture
def no_local_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Hide HANDGRAD_DATA and point the user cache at an empty folder (returned)."""
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    cache = tmp_path / "user-cache"
    monkeypatch.setattr(mnist, "user_cache_dir", lambda app: str(cache / app))
    return cache / "handgrad"


def assert_one_line_error(capsys: pytest.CaptureFixture, *needles: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)


def test_info_reports_found_datasets(shared_data: Path, capsys):
    assert main(["data", "info", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist"):
        assert f"read from {shared_data / name} (named with --data-dir" in out
    assert out.count("60000 images 28x28 uint8, 60000 labels in 0..9") == 2
    assert out.count("10000 images 28x28 uint8, 10000 labels in 0..9") == 2
    assert "Ankle boot" in out


def test_info_verify_checksums(shared_data: Path, capsys):
    assert (
        main(["data", "info", "--dataset", "mnist", "--data-dir", str(shared_data), "--verify"])
        == 0
    )
    assert "checksums: all 4 files match" in capsys.readouterr().out


def test_info_missing_dataset_says_how_to_get_it(no_local_data: Path, capsys):
    assert main(["data", "info", "--dataset", "mnist"]) == 1
    out = capsys.readouterr().out
    assert "not found; searched:" in out and str(no_local_data / "mnist") in out
    assert "handgrad data download --dataset mnist" in out


def test_info_says_why_each_folder_is_read(
    shared_data: Path, no_local_data: Path, tmp_path: Path, monkeypatch, capsys
):
    """The flag wins over the variable, the variable over the cache, and a named folder
    that is missing is reported, never replaced."""
    monkeypatch.setenv("HANDGRAD_DATA", str(shared_data))
    assert main(["data", "info", "--dataset", "mnist"]) == 0
    assert f"read from {shared_data / 'mnist'} (named by HANDGRAD_DATA=" in capsys.readouterr().out
    assert main(["data", "info", "--dataset", "mnist", "--data-dir", str(tmp_path / "no")]) == 1
    out = capsys.readouterr().out
    assert f"missing: --data-dir {tmp_path / 'no'}: no such folder" in out
    assert "read from" not in out and f"drop --data-dir to use HANDGRAD_DATA={shared_data}" in out
    shutil.copytree(shared_data / "mnist", no_local_data / "mnist")
    monkeypatch.delenv("HANDGRAD_DATA")
    assert main(["data", "info", "--dataset", "mnist"]) == 0
    out = capsys.readouterr().out
    assert f"read from {no_local_data / 'mnist'} (user cache: no --data-dir" in out


def test_info_corrupt_file_is_one_line_error(shared_data: Path, tmp_path: Path, capsys):
    folder = tmp_path / "d" / "mnist"
    shutil.copytree(shared_data / "mnist", folder)
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    labels.chmod(0o644)
    labels.write_bytes(gzip.compress(gzip.decompress(labels.read_bytes())[:-3]))
    assert main(["data", "info", "--dataset", "mnist", "--data-dir", str(tmp_path / "d")]) == 2
    assert_one_line_error(capsys, str(labels), "truncated IDX payload")


def test_download_from_mirror_then_info_finds_it(
    shared_data: Path, no_local_data: Path, tmp_path: Path, capsys
):
    mirror = (shared_data / "mnist").as_uri()  # urllib reads file:// like http://
    args = ["--dataset", "mnist", "--data-dir", str(tmp_path / "d")]
    assert main(["data", "download", *args, "--mirror", mirror, "--no-progress"]) == 0
    assert f"mnist: ready in {tmp_path / 'd' / 'mnist'}" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "d" / "mnist").iterdir()) == sorted(
        f"{f}.gz" for f in FILES
    )
    assert main(["data", "info", *args]) == 0
    assert f"read from {tmp_path / 'd' / 'mnist'}" in capsys.readouterr().out


def test_download_checksum_mismatch_is_one_line_error(no_local_data: Path, tmp_path: Path, capsys):
    bad = tmp_path / "bad-mirror"
    bad.mkdir()
    (bad / f"{TRAIN_IMAGES}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x00"))
    argv = ["data", "download", "--mirror", bad.as_uri(), "--no-progress"]
    assert main(argv) == 1  # the mirror's fault, not the user's
    assert_one_line_error(capsys, "checksum mismatch", str(no_local_data / "mnist"))
    assert not (no_local_data / "mnist").exists() or not any((no_local_data / "mnist").iterdir())


def test_unknown_dataset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as excinfo:
        main(["data", "info", "--dataset", "cifar10"])
    assert excinfo.value.code == 2
    assert "invalid choice: 'cifar10'" in capsys.readouterr().err


def test_info_verify_flags_altered_data(shared_data: Path, tmp_path: Path, capsys):
    folder = tmp_path / "d" / "mnist"
    shutil.copytree(shared_data / "mnist", folder)
    labels_path = folder / "t10k-labels-idx1-ubyte.gz"
    labels = read_idx(labels_path)
    labels[0] = (labels[0] + 1) % 10  # still a well-formed file
    labels_path.chmod(0o644)
    write_idx(labels_path, labels)
    argv = ["data", "info", "--dataset", "mnist", "--data-dir", str(tmp_path / "d"), "--verify"]
    assert main(argv) == 1
    assert "checksums: MISMATCH for t10k-labels-idx1-ubyte" in capsys.readouterr().out
