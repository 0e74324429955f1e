"""Read and write IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number, the dimensions, then the payload::

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64 (multi-byte values are big-endian)
    byte  3     ndim (number of dimensions, >= 1)
    ndim x 4    each dimension as a big-endian uint32
    payload     prod(dims) * itemsize bytes, C order, nothing after it

Files are often gzip-compressed (``.gz``). `read_idx` recognises gzip by its own magic
bytes (``1f 8b``; an IDX file always starts with ``00 00``), so a compressed file without
the suffix, or a raw one with it, still reads. Everything is validated before any array is
built: a damaged or foreign file raises `HandgradError` with one line naming the file and
the problem, never a NumPy traceback and never a silently short array.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from handgrad.errors import HandgradError, fault
from handgrad.io import atomic_write

#: IDX type code -> big-endian NumPy dtype of the payload.
TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(dt.kind, dt.itemsize): code for code, dt in TYPE_CODES.items()}
#: The first two bytes of every gzip stream (an IDX file starts with 00 00 instead).
GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1
_FIX = "replace it with a good copy"


class DamagedFile(HandgradError):
    """A file that is not what it should be: ``path``, the ``problem`` and the ``fix``."""

    def __init__(self, path: str | os.PathLike, problem: str, fix: str = _FIX):
        super().__init__(f"{path}: {problem}; {fix}")
        self.path, self.problem, self.fix = Path(path), problem, fix

    def __reduce__(self):
        return type(self), (self.path, self.problem, self.fix)


def _fail(source: str, problem: str) -> DamagedFile:
    return DamagedFile(source, problem)


def read_bytes(path: str | os.PathLike) -> bytes:
    """The content of ``path``, gunzipped if it is gzip-compressed.

    Raises `HandgradError` if the file cannot be read or its gzip stream is damaged.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise HandgradError(f"{path}: file not found; check the path") from None
    except OSError as e:
        raise fault(e, path, doing=f"reading {path}", reading=True) from e
    return gunzip_if_compressed(data, str(path))


def gunzip_if_compressed(data: bytes, source: str) -> bytes:
    """``data`` decompressed if it starts with the gzip magic, else ``data`` unchanged."""
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise _fail(source, f"damaged gzip stream ({e})") from e


def decode_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse uncompressed IDX bytes into a native-byte-order, writeable array.

    ``source`` names the data in error messages (usually the file path). The header is
    checked (zero bytes, known type code, ndim >= 1, room for every dimension) and the
    payload must be exactly ``prod(dims) * itemsize`` bytes.
    """
    if len(data) < 4:
        raise _fail(source, f"too short for an IDX header ({len(data)} bytes, need at least 4)")
    zero, code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00":
        raise _fail(source, f"not an IDX file (magic starts with {zero.hex(' ')}, expected 00 00)")
    if code not in TYPE_CODES:
        known = ", ".join(f"0x{c:02X}" for c in TYPE_CODES)
        raise _fail(source, f"unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise _fail(source, "IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise _fail(
            source,
            f"truncated IDX header ({ndim} dimensions need {header_len} bytes, "
            f"file has {len(data)})",
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = TYPE_CODES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes after"
        dims = "x".join(map(str, shape))
        raise _fail(
            source,
            f"{what} IDX payload (header says {dims} {dtype.newbyteorder('=').name} "
            f"= {expected} bytes, file has {actual})",
        )
    flat = np.frombuffer(data, dtype=dtype, offset=header_len)
    return flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """The uncompressed IDX bytes of ``array`` (type code chosen from its dtype)."""
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        names = ", ".join(dt.newbyteorder("=").name for dt in TYPE_CODES.values())
        raise HandgradError(
            f"IDX has no type code for dtype {array.dtype}; convert the array to one of: {names}"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise HandgradError(f"IDX needs 1 to 255 dimensions, got {array.ndim}; reshape the array")
    if max(array.shape) > _MAX_DIM:
        raise HandgradError(f"IDX dimensions must be below 2**32, got {array.shape}; split it")
    header = bytes([0, 0, code, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=TYPE_CODES[code]).tobytes()


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a native-byte-order array.

    Returns an array of the file's shape, e.g. ``(60000, 28, 28)`` uint8 for MNIST
    training images, ``(60000,)`` uint8 for its labels. Raises `HandgradError` naming the
    file for an unreadable file, a damaged gzip stream, a bad magic number or type code,
    or a payload that is not exactly the size the header declares.
    """
    return decode_idx(read_bytes(path), str(path))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed if ``path`` ends in ``.gz``.

    The type code follows the dtype (uint8, int8, int16, int32, float32, float64; anything
    else raises `HandgradError`). The write is atomic: a temporary file renamed into place.
    The gzip header carries no timestamp, so equal arrays give byte-identical files.
    """
    path = Path(path)
    data = encode_idx(array)
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with atomic_write(path) as f:
        f.write(data)
