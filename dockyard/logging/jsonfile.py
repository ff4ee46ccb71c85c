"""Docker's json-file log format: one JSON object per line of container output."""
from __future__ import annotations

import json
import os
import time

from ..timefmt import rfc3339_ns as _rfc3339_ns


# Docker's copier flushes a line that grows past this without a newline.
MAX_PARTIAL = 16 * 1024


def rfc3339_ns(ns: int) -> str:
    """Docker's log time stamp: UTC with all nine fraction digits (RFC3339NanoFixed)."""
    return _rfc3339_ns(ns, fixed=True)


class JsonFileWriter:
    """Append-only writer of `{"log": ..., "stream": ..., "time": ...}` lines; one entry per output line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self._partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        """Log every complete line in `data`; a trailing partial line waits for its end (or flush)."""
        ts = rfc3339_ns(now_ns if now_ns is not None else time.time_ns())
        buf = self._partial.pop(stream, b"") + data
        entries = []
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            entries.append(self._entry(stream, buf[start:nl + 1], ts))
            start = nl + 1
        rest = buf[start:]
        if len(rest) >= MAX_PARTIAL:
            entries.append(self._entry(stream, rest, ts))
        elif rest:
            self._partial[stream] = rest
        if entries:
            os.write(self._fd, b"".join(entries))

    def flush(self, stream: str | None = None, now_ns: int | None = None) -> None:
        """Write out partial trailing data as-is (the stream ended without a newline)."""
        ts = rfc3339_ns(now_ns if now_ns is not None else time.time_ns())
        for s in [stream] if stream else list(self._partial):
            rest = self._partial.pop(s, b"")
            if rest:
                os.write(self._fd, self._entry(s, rest, ts))

    @staticmethod
    def _entry(stream: str, chunk: bytes, ts: str) -> bytes:
        # Invalid UTF-8 becomes U+FFFD, as Go's encoder does.
        return json.dumps({"log": chunk.decode("utf-8", "replace"), "stream": stream, "time": ts},
                          ensure_ascii=False, separators=(",", ":")).encode() + b"\n"

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1
