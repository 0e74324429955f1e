"""Downloads, tested offline against a local HTTP server serving generated IDX files."""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import one_line_error

from handgrad.data.idx import encode_idx, write_idx
from handgrad.data.mnist import (
    DATASETS,
    FILES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    download_dataset,
    load_dataset,
)
from handgrad.errors import HandgradError, MachineFault


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_then_load(tiny, http_mirror, tmp_path: Path):
    url, root, requests = http_mirror
    tiny.write(root / "good")
    dest = tmp_path / "dest" / "tiny"
    assert download_dataset("tiny", dest, mirrors=[f"{url}/good/"], progress=False) == dest
    assert leftovers(dest) == sorted(f"{f}.gz" for f in FILES)
    for f in FILES:  # saved exactly as served
        assert (dest / f"{f}.gz").read_bytes() == (root / "good" / f"{f}.gz").read_bytes()
    assert sorted(requests) == sorted(f"/good/{f}.gz" for f in FILES)
    ds = load_dataset("tiny", tmp_path / "dest", download=False)
    np.testing.assert_array_equal(ds.train.y, tiny.arrays[TRAIN_LABELS])


def test_load_downloads_into_cache_with_progress_bar(
    tiny, http_mirror, isolated_data: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    url, root, _ = http_mirror
    tiny.write(root)
    monkeypatch.setitem(DATASETS, "tiny", dataclasses.replace(tiny.spec, mirrors=(url,)))
    ds = load_dataset("tiny")
    assert ds.source == isolated_data / "tiny"
    assert leftovers(ds.source) == sorted(f"{f}.gz" for f in FILES)
    assert TRAIN_IMAGES in capsys.readouterr().err  # the tqdm bar names the file


def test_existing_good_files_are_kept_and_bad_ones_replaced(tiny, http_mirror, tmp_path: Path):
    url, root, requests = http_mirror
    tiny.write(root)
    dest = tiny.write(tmp_path / "dest")
    (dest / f"{TEST_LABELS}.gz").write_bytes(gzip.compress(b"junk"))
    download_dataset("tiny", dest, mirrors=[url], progress=False)
    assert requests == [f"/{TEST_LABELS}.gz"]
    download_dataset("tiny", dest, mirrors=[url], progress=False)
    assert len(requests) == 1
    load_dataset("tiny", dest, download=False)


def test_checksum_mismatch_is_refused_and_leaves_no_file(tiny, http_mirror, tmp_path: Path):
    url, root, _ = http_mirror
    tiny.write(root)
    other = tiny.arrays[TRAIN_LABELS].copy()
    other[0] = (other[0] + 1) % 10  # a valid IDX file, but not the published data
    write_idx(root / f"{TRAIN_LABELS}.gz", other)
    dest = tmp_path / "dest"
    with pytest.raises(MachineFault) as excinfo:
        download_dataset("tiny", dest, mirrors=[url], progress=False)
    bad_url = f"{url}/{TRAIN_LABELS}.gz"
    one_line_error(excinfo, bad_url, "checksum mismatch", f"put {TRAIN_IMAGES}.gz", str(dest))
    assert leftovers(dest) == [f"{TRAIN_IMAGES}.gz"]  # fetched before the bad one; nothing else


@pytest.mark.parametrize(
    ("folder", "problem"),
    [("cut", "connection closed after"), ("damaged", "damaged gzip stream"), ("none", "404")],
)
def test_failed_transfer_leaves_no_file(tiny, http_mirror, tmp_path: Path, folder, problem):
    url, root, _ = http_mirror
    tiny.write(root / "cut")
    good = tiny.write(root / "damaged")
    blob = (good / f"{TRAIN_IMAGES}.gz").read_bytes()
    (good / f"{TRAIN_IMAGES}.gz").write_bytes(blob[: len(blob) - 10])
    dest = tmp_path / "dest"
    with pytest.raises(MachineFault) as excinfo:
        download_dataset("tiny", dest, mirrors=[f"{url}/{folder}"], progress=False)
    one_line_error(excinfo, f"{url}/{folder}/{TRAIN_IMAGES}.gz", problem)
    assert leftovers(dest) == []


def test_falls_back_to_next_mirror(tiny, http_mirror, tmp_path: Path):
    url, root, requests = http_mirror
    tiny.write(root / "good")
    bad = tiny.write(root / "bad")
    write_idx(bad / f"{TRAIN_IMAGES}.gz", np.zeros((60, 28, 28), dtype=np.uint8))
    mirrors = [f"{url}/missing", f"{url}/bad", f"{url}/good"]
    dest = download_dataset("tiny", tmp_path / "dest", mirrors=mirrors, progress=False)
    assert leftovers(dest) == sorted(f"{f}.gz" for f in FILES)
    assert requests[:3] == [f"/{m}/{TRAIN_IMAGES}.gz" for m in ("missing", "bad", "good")]


def test_recompressed_and_uncompressed_mirrors_are_accepted(tiny, http_mirror, tmp_path: Path):
    """Verification is on the uncompressed content, so the .gz bytes may differ."""
    url, root, _ = http_mirror
    tiny.write(root)
    recompressed = gzip.compress(encode_idx(tiny.arrays[TRAIN_IMAGES]), compresslevel=1, mtime=1)
    assert recompressed != (root / f"{TRAIN_IMAGES}.gz").read_bytes()
    (root / f"{TRAIN_IMAGES}.gz").write_bytes(recompressed)
    (root / f"{TEST_LABELS}.gz").write_bytes(encode_idx(tiny.arrays[TEST_LABELS]))  # raw body
    dest = download_dataset("tiny", tmp_path / "dest", mirrors=[url], progress=False)
    assert (dest / f"{TRAIN_IMAGES}.gz").read_bytes() == recompressed
    assert (dest / TEST_LABELS).exists() and not (dest / f"{TEST_LABELS}.gz").exists()
    ds = load_dataset("tiny", dest, download=False)
    np.testing.assert_array_equal(ds.test.y, tiny.arrays[TEST_LABELS])


def test_offline_error_says_where_to_put_files(tiny, tmp_path: Path):
    dest = tmp_path / "dest"
    with pytest.raises(MachineFault) as excinfo:
        download_dataset("tiny", dest, mirrors=["http://127.0.0.1:1/"], progress=False)
    one_line_error(excinfo, "could not download", "127.0.0.1:1", str(dest), "--data-dir")


def test_no_mirrors(tiny, isolated_data: Path):
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny")
    one_line_error(excinfo, "no download mirror configured", str(isolated_data / "tiny"))


def test_corrupt_gz_shadowing_a_good_raw_file_is_replaced(tiny, http_mirror, tmp_path: Path):
    """The loader prefers name.gz, so a bad .gz must be fixed even beside a good raw file."""
    url, root, requests = http_mirror
    tiny.write(root)
    dest = tiny.write(tmp_path / "dest", gz=False)
    (dest / f"{TEST_LABELS}.gz").write_bytes(b"not gzip")
    download_dataset("tiny", dest, mirrors=[url], progress=False)
    assert requests == [f"/{TEST_LABELS}.gz"]
    assert not (dest / TEST_LABELS).exists()  # the stale variant is gone
    load_dataset("tiny", dest, download=False)
