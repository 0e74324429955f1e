"""Fetch a file from a list of mirrors, verify it, and write it atomically.

`fetch_verified` tries each URL in turn. A body only counts once its *uncompressed*
content has the expected SHA-256 (so a mirror that re-compresses the same data is
accepted, and a corrupted or truncated transfer is not). Only then is it written, through
`handgrad.io.atomic_write`: an interrupted or failed download never leaves a file that
looks valid. Nothing here knows about MNIST; `handgrad.data.mnist` supplies the URLs and
checksums.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from handgrad.data.idx import GZIP_MAGIC, gunzip_if_compressed, read_bytes
from handgrad.errors import HandgradError, MachineFault
from handgrad.io import atomic_write

TIMEOUT_S = 30.0
_CHUNK = 1 << 16


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def content_matches(path: Path, sha256: str) -> bool:
    """Whether the uncompressed content of ``path`` has SHA-256 ``sha256``.

    A missing file or a damaged gzip stream counts as a mismatch, not an error.
    """
    try:
        return sha256_hex(read_bytes(path)) == sha256
    except HandgradError:
        return False


def http_get(url: str, *, progress: bool = True, label: str = "") -> bytes:
    """The body of ``url``, read in chunks with a tqdm progress bar on stderr.

    Raises `OSError` (which includes `urllib.error.URLError` and timeouts) on failure, and
    `EOFError` or `http.client.IncompleteRead` if the body is shorter than its
    Content-Length.
    """
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        buf = io.BytesIO()
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label or url.rsplit("/", 1)[-1],
            disable=not progress,
            file=sys.stderr,
            leave=False,
        ) as bar:
            while chunk := response.read(_CHUNK):
                buf.write(chunk)
                bar.update(len(chunk))
    body = buf.getvalue()
    if total is not None and len(body) != total:
        raise EOFError(f"connection closed after {len(body)} of {total} bytes")
    return body


def fetch_verified(
    urls: Sequence[str],
    sha256: str,
    dest: Path,
    *,
    progress: bool = True,
    otherwise: str = "",
) -> Path:
    """Download the first URL whose uncompressed body has SHA-256 ``sha256``; save it.

    ``dest`` is the path for the uncompressed file name (``.../train-images-idx3-ubyte``);
    a gzip body is saved as ``dest`` + ``.gz``, exactly as received, a raw body as ``dest``.
    Returns the path written. If no URL gives a verified body, raises `MachineFault`
    listing what went wrong with each (connection errors, HTTP status, checksum
    mismatch), with ``otherwise`` (how to get the file by hand) as an alternative fix;
    with no URL at all, a `HandgradError`.
    """
    problems = []
    for url in urls:
        try:
            body = http_get(url, progress=progress, label=dest.name)
        except (OSError, EOFError, http.client.HTTPException) as e:
            problems.append(f"{url}: {_describe(e)}")
            continue
        try:
            content = gunzip_if_compressed(body, url)
        except HandgradError:
            problems.append(f"{url}: damaged gzip stream")
            continue
        got = sha256_hex(content)
        if got != sha256:
            problems.append(f"{url}: checksum mismatch (sha256 {got[:12]}…, want {sha256[:12]}…)")
            continue
        target = dest.with_name(dest.name + ".gz") if body.startswith(GZIP_MAGIC) else dest
        with atomic_write(target) as f:
            f.write(body)
        stale = dest if target != dest else dest.with_name(dest.name + ".gz")
        stale.unlink(missing_ok=True)  # the other variant would shadow or confuse the new file
        return target
    alternative = f", or {otherwise}" if otherwise else ""
    if not problems:
        raise HandgradError(
            f"no download mirror configured for {dest.name}; pass a mirror URL{alternative}"
        )
    raise MachineFault(
        f"could not download {dest.name}: " + "; ".join(problems),
        path=dest,
        kept=f"no partial {dest.name} was left",
        remedy=f"check the network and the mirror, then run the command again{alternative}",
        then="",
    )


def _describe(e: BaseException) -> str:
    """A short reason for a failed request: HTTP status, network error, or short read."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return str(e.reason)
    if isinstance(e, http.client.IncompleteRead):
        return f"connection closed after {len(e.partial)} bytes"
    return str(e) or type(e).__name__
