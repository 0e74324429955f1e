"""Fixtures for the dataset tests: an isolated search path and small generated datasets.

``isolated_data`` removes every place a real dataset could be found (``HANDGRAD_DATA``,
the user cache, system folders) so each test sees only what it creates. ``tiny`` registers
a small dataset ("tiny": 60 training and 20 test images of 28x28) in `DATASETS`, with
checksums computed from its generated arrays, and writes it where a test asks.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from handgrad.data import mnist
from handgrad.data.download import sha256_hex
from handgrad.data.idx import encode_idx, write_idx


@pytest.fixture
def isolated_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No HANDGRAD_DATA, no system folders, and a fresh user cache; returns the cache root."""
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    cache = tmp_path / "user-cache"
    monkeypatch.setattr(mnist, "user_cache_dir", lambda app: str(cache / app))
    for name, spec in list(mnist.DATASETS.items()):
        monkeypatch.setitem(mnist.DATASETS, name, dataclasses.replace(spec, system_dirs=()))
    return cache / "handgrad"


@dataclasses.dataclass
class Tiny:
    """A small registered dataset: its arrays and a writer for its four files."""

    arrays: dict[str, np.ndarray]
    spec: mnist.DatasetSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def write(self, folder: Path, *, gz: bool = True) -> Path:
        """Write the four files into ``folder`` (``.gz`` or raw); return ``folder``."""
        for fname, array in self.arrays.items():
            write_idx(folder / (f"{fname}.gz" if gz else fname), array)
        return folder


def make_arrays(n_train: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """Random uint8 images and labels 0..9; image i of the training set has pixel 0 = i."""
    rng = np.random.default_rng(seed)
    train = rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8)
    train[:, 0, 0] = np.arange(n_train)  # a row's identity survives any split
    return {
        mnist.TRAIN_IMAGES: train,
        mnist.TRAIN_LABELS: rng.integers(0, 10, size=n_train, dtype=np.uint8),
        mnist.TEST_IMAGES: rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        mnist.TEST_LABELS: rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }


@pytest.fixture
def tiny(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> Tiny:
    arrays = make_arrays(60, 20, seed=7)
    spec = mnist.DatasetSpec(
        name="tiny",
        title="tiny generated dataset",
        sha256={f: sha256_hex(encode_idx(a)) for f, a in arrays.items()},
        mirrors=(),
        classes=tuple("abcdefghij"),
        license="none",
        n_train=60,
        n_test=20,
    )
    monkeypatch.setitem(mnist.DATASETS, "tiny", spec)
    return Tiny(arrays, spec)


class _MirrorHandler(SimpleHTTPRequestHandler):
    """Serves files quietly, logging paths; under ``/cut/`` it sends half of each body
    (after a Content-Length for all of it), like a connection dropped mid-transfer."""

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        if self.path.startswith("/cut/"):
            data = source.read()
            outputfile.write(data[: len(data) // 2])
        else:
            super().copyfile(source, outputfile)


@pytest.fixture
def http_mirror(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A local HTTP server on 127.0.0.1 serving a folder: (base URL, folder, request log).

    Requests are logged as paths (``/good/t10k-labels-idx1-ubyte.gz``); see `_MirrorHandler`.
    """
    root = tmp_path / "mirror-root"
    root.mkdir()
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_MirrorHandler, directory=str(root))
    )
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", root, server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
