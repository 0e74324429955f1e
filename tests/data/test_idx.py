"""IDX read/write: round trips, the exact byte layout, and a clean error for every defect."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handgrad.data.idx import TYPE_CODES, decode_idx, encode_idx, read_idx, write_idx
from handgrad.errors import HandgradError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def assert_clean_error(excinfo: pytest.ExceptionInfo, *needles: str) -> None:
    """The error is one line and mentions every needle (file name, problem)."""
    msg = str(excinfo.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_keeps_values_shape_and_dtype(tmp_path: Path, dtype: type, suffix: str):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable
    assert path.read_bytes().startswith(b"\x1f\x8b") == (suffix == ".gz")


def test_header_and_payload_follow_the_format():
    array = np.array([[1, -2, 3]], dtype=np.int32)
    data = encode_idx(array)
    code = next(c for c, dt in TYPE_CODES.items() if dt == np.dtype(">i4"))
    expected = struct.pack(">BBBBII", 0, 0, code, 2, 1, 3) + struct.pack(">iii", 1, -2, 3)
    assert data == expected


def test_big_endian_input_is_written_the_same(tmp_path: Path):
    native = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert encode_idx(native) == encode_idx(native.astype(">i2"))


def test_gzip_is_detected_by_content_not_suffix(tmp_path: Path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "x.gz", array)
    (tmp_path / "compressed-no-suffix").write_bytes((tmp_path / "x.gz").read_bytes())
    (tmp_path / "raw-with-suffix.gz").write_bytes(encode_idx(array))
    for name in ["compressed-no-suffix", "raw-with-suffix.gz"]:
        np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_gzip_output_is_reproducible(tmp_path: Path):
    array = np.arange(100, dtype=np.float32)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_empty_dimension_is_a_valid_file(tmp_path: Path):
    write_idx(tmp_path / "e", np.zeros((0, 28, 28), dtype=np.uint8))
    assert read_idx(tmp_path / "e").shape == (0, 28, 28)


def _valid_bytes() -> bytes:
    return encode_idx(np.arange(12, dtype=np.int16).reshape(3, 4))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x01\x00" + _valid_bytes()[2:], "not an IDX file"),
        (b"PK\x03\x04rest", "not an IDX file"),
        (b"\x00\x00\x07\x01" + b"\x00" * 8, "unknown IDX type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
        (_valid_bytes()[:-1], "truncated IDX payload"),
        (_valid_bytes()[:12], "truncated IDX payload"),
        (_valid_bytes() + b"\x00", "trailing bytes"),
    ],
)
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_file_gives_one_line_error_naming_file(
    tmp_path: Path, data: bytes, problem: str, gz: bool
):
    path = tmp_path / "bad-file.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(HandgradError) as excinfo:
        read_idx(path)
    assert_clean_error(excinfo, str(path), problem)


def test_truncated_payload_error_states_both_sizes(tmp_path: Path):
    path = tmp_path / "short"
    path.write_bytes(_valid_bytes()[:-4])
    with pytest.raises(HandgradError) as excinfo:
        read_idx(path)
    assert_clean_error(excinfo, "3x4 int16", "= 24 bytes", "has 20")


def test_damaged_gzip_stream(tmp_path: Path):
    good = gzip.compress(_valid_bytes())
    path = tmp_path / "cut.gz"
    path.write_bytes(good[: len(good) - 5])
    with pytest.raises(HandgradError) as excinfo:
        read_idx(path)
    assert_clean_error(excinfo, str(path), "damaged gzip stream")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    with pytest.raises(HandgradError):
        read_idx(path)


def test_unreadable_path(tmp_path: Path):
    for path, problem in [(tmp_path / "missing.idx", "file not found"), (tmp_path, "a folder")]:
        with pytest.raises(HandgradError) as excinfo:
            read_idx(path)
        assert_clean_error(excinfo, str(path), problem)


@pytest.mark.parametrize(
    ("array", "problem"),
    [
        (np.zeros(3, dtype=np.int64), "no type code for dtype int64"),
        (np.zeros(3, dtype=bool), "no type code for dtype bool"),
        (np.zeros(3, dtype=np.uint16), "no type code for dtype uint16"),
        (np.array(5, dtype=np.uint8), "1 to 255 dimensions"),
    ],
)
def test_write_rejects_what_idx_cannot_hold(tmp_path: Path, array: np.ndarray, problem: str):
    path = tmp_path / "out.idx"
    path.write_bytes(b"old")
    with pytest.raises(HandgradError) as excinfo:
        write_idx(path, array)
    assert_clean_error(excinfo, problem)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.idx"]


def test_reads_real_mnist_labels(shared_data: Path):
    labels = read_idx(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))


# --- property-based: anything the reader returns is right, anything else is a HandgradError


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("idx-fuzz")


def _read_bytes_as_file(folder: Path, data: bytes, name: str) -> np.ndarray:
    path = folder / name
    path.write_bytes(data)
    return read_idx(path)


def _header(code: int, dims: list[int]) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


_headers = st.builds(
    _header,
    st.sampled_from([*TYPE_CODES, 0x00, 0x0A, 0xFF]),
    st.lists(st.integers(0, 6), min_size=0, max_size=4),
)
_arrays = st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))
)
_blobs = st.one_of(
    st.binary(max_size=64),
    st.builds(bytes.__add__, _headers, st.binary(max_size=200)),
    st.builds(encode_idx, _arrays),
)


@settings(max_examples=1000, deadline=None)
@given(data=_blobs, gz=st.booleans())
def test_random_bytes_give_clean_error_or_exact_array(scratch: Path, data: bytes, gz: bool):
    raw = data
    if gz:
        data = gzip.compress(data)
    try:
        array = _read_bytes_as_file(scratch, data, "random")
    except HandgradError as e:
        assert "\n" not in str(e) and "random" in str(e)
        return
    assert encode_idx(array) == raw  # accepted only if it is exactly a valid IDX file


@settings(max_examples=1000, deadline=None)
@given(array=_arrays, gz=st.booleans(), data=st.data())
def test_random_truncation_of_valid_file(
    scratch: Path, array: np.ndarray, gz: bool, data: st.DataObject
):
    full = encode_idx(array)
    if gz:
        full = gzip.compress(full)
    cut = data.draw(st.integers(0, len(full)), label="cut")
    try:
        back = _read_bytes_as_file(scratch, full[:cut], "truncated")
    except HandgradError as e:
        assert cut < len(full), f"valid file rejected: {e}"
        return
    assert cut == len(full), "a truncated file was accepted"
    np.testing.assert_array_equal(back, array)  # NaNs compare equal here
    assert back.dtype == array.dtype


def test_decode_names_the_source():
    with pytest.raises(HandgradError) as excinfo:
        decode_idx(b"\x00\x00\x08\x01\x00\x00\x00\x05", "labels-from-network")
    assert_clean_error(excinfo, "labels-from-network", "truncated IDX payload")
