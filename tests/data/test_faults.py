"""Faults around the data: permission denied, downloads cut, interrupted or out of space,
a damaged file in the cache, and a named folder that is missing or incomplete. Each gives
one line and a non-zero exit code, and never another folder's data."""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path

import pytest
from tests.conftest import cli_error, fill

import handgrad.data.download
import handgrad.io
from handgrad.cli import main
from handgrad.data import mnist
from handgrad.data.mnist import FILES, TEST_LABELS, TRAIN_IMAGES, load_dataset
from handgrad.errors import MachineFault


def gz_names() -> list[str]:
    return sorted(f"{f}.gz" for f in FILES)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def info(name: str, *extra: str) -> list[str]:
    return ["data", "info", "--dataset", name, *extra]


def test_permission_denied_on_the_data(tiny, tmp_path, monkeypatch, capsys):
    folder = tiny.write(tmp_path / "d" / "tiny")
    locked = folder / f"{TRAIN_IMAGES}.gz"
    locked.chmod(0)
    try:
        locked.read_bytes()  # root may read anyway: then the kernel's answer is injected
        real = Path.read_bytes

        def read_bytes(path: Path) -> bytes:
            if path == locked:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real(path)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    except PermissionError:
        pass
    cli_error(
        capsys,
        info("tiny", "--data-dir", str(tmp_path / "d")),
        1,
        f"permission denied on {locked} while reading {locked}",
        f"make {locked} readable for you",
    )
    locked.chmod(0o644)


def test_cut_download_leaves_nothing(tiny, http_mirror, tmp_path, capsys):
    url, root, _ = http_mirror
    tiny.write(root / "cut")
    dest = tmp_path / "d"
    argv = ["data", "download", "--dataset", "tiny", "--data-dir", str(dest), "--no-progress"]
    cli_error(
        capsys,
        [*argv, "--mirror", f"{url}/cut"],
        1,
        "connection closed after",
        f"no partial {TRAIN_IMAGES} was left",
        "check the network and the mirror",
    )
    assert leftovers(dest / "tiny") == []


def test_ctrl_c_during_a_download_leaves_nothing(tiny, http_mirror, tmp_path, monkeypatch, capsys):
    url, root, _ = http_mirror
    tiny.write(root)
    dest = tmp_path / "d"
    argv = ["data", "download", "--dataset", "tiny", "--data-dir", str(dest), "--mirror", url]

    class CtrlC(handgrad.data.download.tqdm):
        """A progress bar during whose second file the user presses Ctrl-C."""

        files = 0

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            CtrlC.files += 1

        def update(self, n=1):
            if CtrlC.files == 2:
                raise KeyboardInterrupt
            return super().update(n)

    monkeypatch.setattr(handgrad.data.download, "tqdm", CtrlC)
    assert main([*argv, "--no-progress"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted") and err.count("\n") == 1 and "Traceback" not in err
    assert leftovers(dest / "tiny") == [f"{TRAIN_IMAGES}.gz"]  # complete, verified
    monkeypatch.setattr(handgrad.data.download, "tqdm", CtrlC.__bases__[0])
    assert main([*argv, "--no-progress"]) == 0
    assert leftovers(dest / "tiny") == gz_names()


def test_disk_full_during_a_download(tiny, http_mirror, small_disk, capsys):
    url, root, _ = http_mirror
    tiny.write(root)
    argv = ["data", "download", "--dataset", "tiny", "--data-dir", str(small_disk)]
    (small_disk / "tiny").mkdir()
    filler = fill(small_disk)
    cli_error(
        capsys,
        [*argv, "--mirror", url, "--no-progress"],
        1,
        f"no space left on {small_disk} while writing {small_disk / 'tiny' / TRAIN_IMAGES}.gz",
        f"no partial {TRAIN_IMAGES}.gz was left",
        f"free space on {small_disk} and run the command again",
    )
    assert leftovers(small_disk / "tiny") == []
    filler.unlink()
    assert main([*argv, "--mirror", url, "--no-progress"]) == 0
    assert leftovers(small_disk / "tiny") == gz_names()


def test_injected_disk_full_during_a_download(tiny, http_mirror, tmp_path, monkeypatch, capsys):
    url, root, _ = http_mirror
    tiny.write(root)
    dest = tmp_path / "d"
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == f"{TEST_LABELS}.gz":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(handgrad.io.os, "replace", replace)
    argv = ["data", "download", "--dataset", "tiny", "--data-dir", str(dest), "--mirror", url]
    cli_error(capsys, [*argv, "--no-progress"], 1, "no space left on", f"{TEST_LABELS}.gz")
    assert f"{TEST_LABELS}.gz" not in leftovers(dest / "tiny")
    assert not [n for n in leftovers(dest / "tiny") if n.endswith(".tmp")]


def test_damaged_file_in_the_cache_is_a_machine_fault(tiny, isolated_data, capsys):
    cache = tiny.write(isolated_data / "tiny")
    damaged = cache / f"{TEST_LABELS}.gz"
    damaged.write_bytes(damaged.read_bytes()[:-8])
    with pytest.raises(MachineFault) as excinfo:
        load_dataset("tiny")
    assert "\n" not in str(excinfo.value)
    cli_error(
        capsys,
        info("tiny"),
        1,
        f"{damaged}: damaged gzip stream",
        f"in the user cache {cache}",
        "replace it with 'handgrad data download --dataset tiny'",
    )
    assert damaged.stat().st_size  # reported, not deleted


@pytest.fixture
def tiny_as_mnist(tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny dataset registered under the name "mnist" (so `train mlp` takes it) and
    written to ``tmp_path/env/mnist``, with HANDGRAD_DATA naming ``tmp_path/env``."""
    monkeypatch.setitem(mnist.DATASETS, "mnist", dataclasses.replace(tiny.spec, name="mnist"))
    env = tmp_path / "env"
    tiny.write(env / "mnist")
    monkeypatch.setenv(mnist.ENV_VAR, str(env))
    return env


def test_a_named_folder_is_never_replaced(tiny_as_mnist, tmp_path, monkeypatch, capsys):
    """--data-dir wins over HANDGRAD_DATA even when it is wrong: an error, not other data."""
    train = ["train", "mlp", "--epochs", "1", "--no-progress"]
    missing = tmp_path / "typo"
    cli_error(
        capsys,
        [*train, "--data-dir", str(missing), "--out", str(tmp_path / "r1")],
        2,
        f"--data-dir {missing}: no such folder",
        f"drop --data-dir to use HANDGRAD_DATA={tiny_as_mnist}",
    )
    partial = tmp_path / "partial"
    (partial / "mnist").mkdir(parents=True)
    for f in FILES[:3]:
        (partial / "mnist" / f"{f}.gz").write_bytes(
            (tiny_as_mnist / "mnist" / f"{f}.gz").read_bytes()
        )
    cli_error(
        capsys,
        [*train, "--data-dir", str(partial), "--out", str(tmp_path / "r2")],
        2,
        f"{partial / 'mnist'} lacks {TEST_LABELS}",
        f"'handgrad data download --dataset mnist --data-dir {partial}'",
    )
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()
    assert main(info("mnist")) == 0  # without --data-dir: HANDGRAD_DATA's own data
    assert (
        f"read from {tiny_as_mnist / 'mnist'} (named by HANDGRAD_DATA=" in capsys.readouterr().out
    )
    monkeypatch.setenv(mnist.ENV_VAR, str(missing))
    cli_error(
        capsys,
        [*train, "--out", str(tmp_path / "r3")],
        2,
        f"HANDGRAD_DATA={missing}: no such folder",
        "unset HANDGRAD_DATA to use the user cache",
    )
    assert main(info("mnist")) == 1
    assert f"missing: HANDGRAD_DATA={missing}: no such folder" in capsys.readouterr().out
