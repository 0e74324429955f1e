"""The grader ↔ sandbox wire format: JSON headers and raw arrays, strict and size-bounded.

Standalone: this module imports only the standard library and NumPy, because it also
runs inside the sandbox (`harness`), where handgrad is not importable. There is no
pickle anywhere: a message cannot carry code, only numbers and text.

A message is::

    8 bytes   b"HGW1" + the header's length (uint32, big-endian), at most MAX_HEADER
    header    UTF-8 JSON object; its "arrays" entry lists [name, dtype, shape] per array
    payload   each array's bytes, C order, in the header's order

Only the dtypes in `DTYPES` travel (little-endian floats, integers, booleans), an
array has at most `MAX_DIMS` dimensions, and the payload of one message at most
``max_bytes``. A message that breaks any rule raises `WireError` with one line saying
what is wrong; the reader never allocates more than the limits allow, whatever the
other side sends.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

MAGIC = b"HGW1"
PREFIX = struct.Struct(">4sI")
MAX_HEADER = 64 * 1024
MAX_DIMS = 4
MAX_BYTES = 64 * 1024 * 1024  # default payload cap of one message
DTYPES = ("<f8", "<f4", "<i8", "<i4", "|b1")


class WireError(ValueError):
    """A message that does not follow the format (one line: what is wrong)."""


def encode(header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    """One message: ``header`` (JSON-able, without "arrays") plus ``arrays``."""
    arrays = arrays or {}
    listing, payload = [], []
    for name, value in arrays.items():
        arr = np.asarray(value)
        arr = arr if arr.flags.c_contiguous else arr.copy(order="C")  # 0-d stays 0-d
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        if dtype.str not in DTYPES:
            raise WireError(f"array {name!r} has dtype {arr.dtype}, which does not travel")
        listing.append([name, dtype.str, list(arr.shape)])
        payload.append(arr.astype(dtype, copy=False).tobytes())
    text = json.dumps({**header, "arrays": listing}, allow_nan=False).encode()
    if len(text) > MAX_HEADER:
        raise WireError(f"header of {len(text)} bytes, over {MAX_HEADER}")
    return PREFIX.pack(MAGIC, len(text)) + text + b"".join(payload)


def decode(
    read: Callable[[int], bytes], *, max_bytes: int = MAX_BYTES
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read one message with ``read(n)`` (which returns exactly n bytes, or fewer at the end).

    Returns (header without "arrays", {name: read-only array}); `WireError` on anything
    that breaks the format, `EOFError` when the stream ends before a message starts.
    """
    head = read(PREFIX.size)
    if not head:
        raise EOFError("the stream ended")
    if len(head) < PREFIX.size:
        raise WireError("the stream ended inside a message")
    magic, length = PREFIX.unpack(head)
    if magic != MAGIC:
        raise WireError("not a message (bad magic bytes)")
    if length > MAX_HEADER:
        raise WireError(f"header of {length} bytes, over {MAX_HEADER}")
    try:
        header = json.loads(_exactly(read, length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WireError(f"the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise WireError("the header is not a JSON object")
    listing = header.pop("arrays", [])
    specs = _specs(listing, max_bytes)
    arrays = {}
    for name, dtype, shape, size in specs:
        arr = np.frombuffer(_exactly(read, size), dtype=dtype).reshape(shape)
        arrays[name] = arr
    return header, arrays


def _specs(listing: Any, max_bytes: int) -> list[tuple[str, np.dtype, tuple[int, ...], int]]:
    if not isinstance(listing, list):
        raise WireError("'arrays' is not a list")
    specs, total = [], 0
    for entry in listing:
        if not (isinstance(entry, list) and len(entry) == 3):
            raise WireError("an 'arrays' entry is not [name, dtype, shape]")
        name, dtype, shape = entry
        if not isinstance(name, str) or dtype not in DTYPES:
            raise WireError(f"array entry {str(name)[:40]!r}: dtype {str(dtype)[:12]!r} refused")
        if not (
            isinstance(shape, list)
            and len(shape) <= MAX_DIMS
            and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape)
        ):
            raise WireError(f"array {name[:40]!r}: bad shape")
        dt = np.dtype(dtype)
        count = 1
        for s in shape:
            count *= s
        size = count * dt.itemsize
        total += size
        if total > max_bytes:
            raise WireError(f"more than {max_bytes} bytes of arrays in one message")
        specs.append((name, dt, tuple(shape), size))
    return specs


def _exactly(read: Callable[[int], bytes], n: int) -> bytes:
    data = read(n) if n else b""
    if len(data) != n:
        raise WireError("the stream ended inside a message")
    return data


def reader(fd: int, wait: Callable[[int], None] | None = None) -> Callable[[int], bytes]:
    """``read(n)`` over a file descriptor: n bytes, or fewer only where the stream ends.

    ``wait(fd)``, if given, runs before each read (to wait for data under a deadline,
    raising to give up).
    """

    def read(n: int) -> bytes:
        chunks, left = [], n
        while left:
            if wait is not None:
                wait(fd)
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    return read


def writer(fd: int) -> Callable[[bytes], None]:
    """``write(data)`` over a file descriptor, all of it."""

    def write(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    return write
