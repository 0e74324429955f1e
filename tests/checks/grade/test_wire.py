"""The grader ↔ sandbox wire format: exact round trips, and every malformed message refused."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

from handgrad.checks.grade import wire


def _decode(data: bytes, **kw):
    return wire.decode(io.BytesIO(data).read, **kw)


def test_round_trip_keeps_header_dtype_shape_and_bits() -> None:
    arrays = {
        "x": np.random.default_rng(0).standard_normal((3, 4)),
        "y": np.arange(5, dtype=np.float32),
        "k": np.array(7),
        "mask": np.array([True, False]),
    }
    header, got = _decode(wire.encode({"op": "call", "name": "b2B"}, arrays))
    assert header == {"op": "call", "name": "b2B"}
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype and got[k].shape == v.shape
        assert np.array_equal(got[k], v)
        assert not got[k].flags.writeable


def _message(header: dict, payload: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return b"HGW1" + struct.pack(">I", len(text)) + text + payload


@pytest.mark.parametrize(
    "data, needle",
    [
        (b"XXXX\x00\x00\x00\x02{}", "bad magic"),
        (b"HGW1" + struct.pack(">I", 10**9), "header of"),
        (b"HGW1" + struct.pack(">I", 5) + b"[1,2]", "not a JSON object"),
        (b"HGW1" + struct.pack(">I", 3) + b"{x}", "not JSON"),
        (_message({"arrays": [["a", "|O", [1]]]}), "refused"),
        (_message({"arrays": [["a", "<f8", [-1]]]}), "bad shape"),
        (_message({"arrays": [["a", "<f8", [1, 1, 1, 1, 1]]]}), "bad shape"),
        (_message({"arrays": [["a", "<f8", [10**12]]]}), "more than"),
        (_message({"arrays": [["a", "<f8", [4]]]}, b"\0" * 8), "ended inside"),
        (_message({"arrays": "nope"}), "not a list"),
        (b"HGW1\x00", "ended inside"),
    ],
)
def test_malformed_messages_are_refused_without_allocating(data: bytes, needle: str) -> None:
    with pytest.raises(wire.WireError) as e:
        _decode(data, max_bytes=1 << 20)
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_an_empty_stream_is_the_end_not_an_error() -> None:
    with pytest.raises(EOFError):
        _decode(b"")


def test_objects_never_travel() -> None:
    with pytest.raises(wire.WireError):
        wire.encode({}, {"o": np.array([object()])})
