"""MNIST / Fashion-MNIST: the search order, loading, splits, standardisation, bad files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import one_line_error

from handgrad.data.idx import read_idx, write_idx
from handgrad.data.mnist import (
    DATASETS,
    FILES,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    find_dataset,
    load_dataset,
    locate_dataset,
    verify_dataset,
)
from handgrad.errors import HandgradError

# --- real data -----------------------------------------------------------------------


def test_load_real_mnist(shared_data: Path):
    ds = load_dataset("mnist", shared_data, download=False)
    assert ds.source == shared_data / "mnist"
    assert ds.classes == [str(d) for d in range(10)] and ds.image_shape == (28, 28)
    assert ds.val is None and (ds.mean, ds.std) == (0.0, 1.0)
    for split, n in [(ds.train, 60000), (ds.test, 10000)]:
        assert split.x.shape == (n, 784) and split.x.dtype == np.float32
        assert split.y.shape == (n,) and split.y.dtype == np.int64
        assert split.x.min() == 0.0 and split.x.max() == 1.0
        assert set(np.unique(split.y)) == set(range(10))
    raw = read_idx(shared_data / "mnist" / f"{TEST_IMAGES}.gz")
    np.testing.assert_array_equal(ds.test.x, (raw.reshape(10000, 784) / 255).astype(np.float32))
    labels = read_idx(shared_data / "mnist" / f"{TEST_LABELS}.gz")
    np.testing.assert_array_equal(ds.test.y, labels)


def test_load_real_fashion_mnist_standardized(shared_data: Path):
    ds = load_dataset("fashion-mnist", shared_data, standardize=True, validation=5000, seed=1)
    assert len(ds.train) == 55000 and len(ds.val) == 5000 and len(ds.test) == 10000
    assert ds.classes[0] == "T-shirt/top" and len(ds.classes) == 10
    assert abs(float(ds.train.x.mean(dtype=np.float64))) < 1e-5
    assert abs(float(ds.train.x.std(dtype=np.float64)) - 1.0) < 1e-5


def test_real_files_match_published_checksums(shared_data: Path):
    assert verify_dataset("mnist", shared_data / "mnist") == dict.fromkeys(FILES, True)


# --- the search order -------------------------------------------------------------------


def test_search_order(tiny, isolated_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A named folder (data_dir, else HANDGRAD_DATA) is the only place searched; without
    one the cache comes first, then system folders."""
    explicit = tiny.write(tmp_path / "explicit" / "tiny")
    env = tiny.write(tmp_path / "env" / "tiny")
    cache = tiny.write(isolated_data / "tiny")
    system = tiny.write(tmp_path / "system")
    spec = dataclasses.replace(tiny.spec, system_dirs=(("pkg", system),))
    monkeypatch.setitem(DATASETS, "tiny", spec)
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "env"))
    for data_dir, folder, origin in [
        (tmp_path / "explicit", explicit, "--data-dir"),
        (None, env, "HANDGRAD_DATA"),
    ]:
        loc = locate_dataset("tiny", data_dir)
        assert (loc.path, loc.origin, loc.explicit) == (folder, origin, True)
        (folder / f"{TRAIN_LABELS}.gz").unlink()  # incomplete now: never replaced by another
        assert find_dataset("tiny", data_dir) is None
        with pytest.raises(HandgradError) as excinfo:
            load_dataset("tiny", data_dir)
        one_line_error(excinfo, origin, f"lacks {TRAIN_LABELS}", "handgrad data download")
    monkeypatch.delenv("HANDGRAD_DATA")
    for folder, origin in [(cache, "user cache"), (system, "pkg")]:
        loc = locate_dataset("tiny")
        assert (loc.path, loc.origin, loc.explicit) == (folder, origin, False)
        (folder / f"{TRAIN_LABELS}.gz").unlink()  # incomplete now: the next one wins
    assert find_dataset("tiny") is None


def test_flat_folder_and_uncompressed_files(tiny, tmp_path: Path):
    flat = tiny.write(tmp_path / "anything", gz=False)
    assert find_dataset("tiny", flat) == flat
    ds = load_dataset("tiny", flat, download=False)
    np.testing.assert_array_equal(ds.test.y, tiny.arrays[TEST_LABELS])
    assert sorted(p.name for p in flat.iterdir()) == sorted(FILES)


def test_gz_preferred_over_raw(tiny, tmp_path: Path):
    folder = tiny.write(tmp_path / "d" / "tiny", gz=False)
    tiny.write(folder, gz=True)
    files = locate_dataset("tiny", tmp_path / "d").files
    assert all(p.suffix == ".gz" for p in files.values())


def test_flat_folder_named_after_another_dataset_is_not_taken(tiny, tmp_path: Path):
    """MNIST and Fashion-MNIST share file names: a folder called mnist is not fashion."""
    folder = tiny.write(tmp_path / "mnist")
    assert find_dataset("mnist", folder) == folder
    assert find_dataset("fashion-mnist", folder) is None


def test_missing_without_download_says_where_to_put_files(tiny, isolated_data: Path):
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny", download=False)
    dest = str(isolated_data / "tiny")
    one_line_error(excinfo, "tiny not found", dest, f"{TRAIN_IMAGES}.gz", "--data-dir")


def test_named_folder_that_does_not_exist_is_an_error(tiny, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HANDGRAD_DATA", str(tiny.write(tmp_path / "env" / "tiny").parent))
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny", tmp_path / "typo")
    one_line_error(excinfo, f"--data-dir {tmp_path / 'typo'}: no such folder", "never replaced")
    monkeypatch.setenv("HANDGRAD_DATA", str(tmp_path / "typo"))
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny")
    one_line_error(excinfo, f"HANDGRAD_DATA={tmp_path / 'typo'}: no such folder", "unset")


def test_unknown_dataset_lists_choices():
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("cifar10")
    one_line_error(excinfo, "'cifar10'", *sorted(DATASETS))


# --- splits, scaling, dtype ----------------------------------------------------------


def test_validation_split_is_a_seeded_partition(tiny, tmp_path: Path):
    folder = tiny.write(tmp_path / "d")

    def ids(split):  # pixel 0 of training image i is i
        return (split.x[:, 0] * 255).round().astype(int)

    ds = load_dataset("tiny", folder, validation=15, seed=3)
    train_ids, val_ids = ids(ds.train), ids(ds.val)
    assert len(train_ids) == 45 and len(val_ids) == 15
    assert sorted([*train_ids, *val_ids]) == list(range(60))
    assert list(train_ids) == sorted(train_ids) and list(val_ids) == sorted(val_ids)
    np.testing.assert_array_equal(ds.val.y, tiny.arrays[TRAIN_LABELS][val_ids])
    again = load_dataset("tiny", folder, validation=15, seed=3)
    np.testing.assert_array_equal(ids(again.val), val_ids)
    other = load_dataset("tiny", folder, validation=15, seed=4)
    assert list(ids(other.val)) != list(val_ids)
    assert len(load_dataset("tiny", folder).train) == 60


def test_standardize_uses_remaining_training_pixels(tiny, tmp_path: Path):
    folder = tiny.write(tmp_path / "d")
    ds = load_dataset("tiny", folder, validation=10, standardize=True, dtype=np.float64)
    plain = load_dataset("tiny", folder, validation=10, dtype=np.float64)
    train_pixels = plain.train.x
    assert ds.mean == pytest.approx(train_pixels.mean(), rel=1e-12)
    assert ds.std == pytest.approx(train_pixels.std(), rel=1e-12)
    for z, x in [(ds.train, plain.train), (ds.val, plain.val), (ds.test, plain.test)]:
        np.testing.assert_allclose(z.x, (x.x - ds.mean) / ds.std, rtol=1e-12, atol=1e-12)
    assert ds.train.x.dtype == np.float64


def test_constant_images_are_centred_not_divided_by_zero(tiny, tmp_path: Path):
    for name in (TRAIN_IMAGES, TEST_IMAGES):
        tiny.arrays[name][:] = 7
    ds = load_dataset("tiny", tiny.write(tmp_path / "d"), standardize=True)
    assert ds.std == 1.0 and np.all(ds.train.x == 0) and np.isfinite(ds.test.x).all()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"validation": -1}, "validation=-1 must be in 0..59"),
        ({"validation": 60}, "validation=60 must be in 0..59"),
        ({"validation": 0.1}, "whole number"),
        ({"validation": True}, "whole number"),
        ({"dtype": np.float16}, "float32 or float64"),
        ({"dtype": np.int32}, "float32 or float64"),
        ({"dtype": "nonsense"}, "float32 or float64"),
    ],
)
def test_bad_arguments(tiny, tmp_path: Path, kwargs: dict, problem: str):
    folder = tiny.write(tmp_path / "d")
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny", folder, **kwargs)
    one_line_error(excinfo, problem)


# --- corrupt or mismatched files -------------------------------------------------------


def _corrupt(tiny, folder: Path, fname: str, array: np.ndarray) -> Path:
    tiny.write(folder)
    path = folder / f"{fname}.gz"
    write_idx(path, array)
    return path


@pytest.mark.parametrize(
    ("fname", "make", "problem"),
    [
        (TRAIN_LABELS, lambda a: a[:-1], "has 60 images but"),
        (TEST_IMAGES, lambda a: a[:, :27, :], "expected uint8 images of shape (n, 28, 28)"),
        (TEST_IMAGES, lambda a: a.astype(np.int16), "expected uint8 images"),
        (TRAIN_LABELS, lambda a: a.reshape(6, 10), "expected a 1-D uint8 label array"),
        (TEST_LABELS, lambda a: np.where(a == a[0], 10, a).astype(np.uint8), "label 10"),
    ],
)
def test_mismatched_files_give_clean_error(tiny, tmp_path: Path, fname, make, problem):
    path = _corrupt(tiny, tmp_path / "d", fname, make(tiny.arrays[fname]))
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny", tmp_path / "d", download=False)
    one_line_error(excinfo, str(path), problem, "handgrad data download --dataset tiny")


def test_wrong_count_for_the_dataset(tiny, tmp_path: Path):
    folder = tmp_path / "d"
    tiny.write(folder)
    write_idx(folder / f"{TEST_IMAGES}.gz", tiny.arrays[TEST_IMAGES][:5])
    write_idx(folder / f"{TEST_LABELS}.gz", tiny.arrays[TEST_LABELS][:5])
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny", folder, download=False)
    one_line_error(excinfo, "expected 20 images, found 5")


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda b: b"\x08\x00" + b[2:], "not an IDX file"),
        (lambda b: b[: len(b) // 2], "truncated IDX payload"),
    ],
)
def test_damaged_file_gives_clean_error(tiny, tmp_path: Path, damage, problem):
    folder = tiny.write(tmp_path / "d", gz=False)
    path = folder / TRAIN_IMAGES
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(HandgradError) as excinfo:
        load_dataset("tiny", folder, download=False)
    one_line_error(excinfo, str(path), problem)
