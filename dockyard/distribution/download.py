"""`docker import URL`: fetch the tar a URL names into a temp file, with Docker's progress.

As dockerd does, a source without a scheme is taken as an http host (`example.com/x.tar` ->
`http://example.com/x.tar`); only http and https are fetched. A status of 400 or more, or a
connection failure, is the daemon's error (500), worded as Docker's.
"""
from __future__ import annotations

import http.client
import os
import ssl
import tempfile
import time
from typing import IO, Callable
from urllib.parse import urlsplit

from .. import errors
from .transport import connection_error

CHUNK = 1 << 20
TIMEOUT = 60.0


def normalize(src: str) -> str:
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in src):
        raise errors.InvalidParameter(f"invalid import source {src!r}: a URL has no spaces or control characters")
    try:
        parts = urlsplit(src)
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError as e:
        raise errors.InvalidParameter(f"invalid import source {src!r}: {e}") from None
    if not parts.scheme:
        return "http://" + src
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise errors.InvalidParameter(f"unsupported import source {src!r}: only http and https URLs")
    return src


def fetch(src: str, directory: str, emit: Callable[[dict], None]) -> IO[bytes]:
    """The body at `src` in an unlinked temp file (rewound); emits Downloading progress."""
    url = normalize(src)
    parts = urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.netloc, timeout=TIMEOUT, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    os.makedirs(directory, exist_ok=True)
    out = tempfile.TemporaryFile(dir=directory)
    try:
        try:
            conn.request("GET", target, headers={"User-Agent": "dockyard"})
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException, UnicodeError) as e:
            raise connection_error("GET", url, e) from None
        if resp.status >= 400:
            raise errors.SystemFailure(f"Got HTTP status code >= 400: {resp.status} {resp.reason}")
        _copy(resp, out, int(resp.getheader("Content-Length") or 0), emit)
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise
    finally:
        conn.close()


def _copy(resp: http.client.HTTPResponse, out: IO[bytes], total: int, emit: Callable[[dict], None]) -> None:
    done, last = 0, 0.0
    while True:
        try:
            chunk = resp.read(CHUNK)
        except (OSError, http.client.HTTPException) as e:
            raise errors.SystemFailure(f"error downloading the import source: {e}") from None
        if not chunk:
            break
        out.write(chunk)
        done += len(chunk)
        now = time.monotonic()
        if now - last > 0.1:  # a progress line every 100 ms at most, as Docker's progress reader
            last = now
            detail: dict = {"current": done, **({"total": total} if total else {})}
            emit({"status": "Downloading", "progressDetail": detail, "id": ""})
    emit({"status": "Downloading", "progressDetail": {"current": done, **({"total": total} if total else {})}, "id": ""})
