"""The `local` driver's compact binary format, rotated by default (Docker's: 20 MB, 5 files, compressed).

Each entry is one frame, length-framed at both ends as Docker's protobuf entries are, so
`--tail` walks back from the end of the file without scanning it:

    u32 length | u8 stream (1 stdout, 2 stderr) | u64 time ns | data | u32 length

(big-endian; `length` counts the stream byte, the time and the data). A line costs 17 bytes
of framing against json-file's ~60 of keys, quotes and a 30-character time stamp.
"""
from __future__ import annotations

import os
import struct
import time
from typing import IO

from . import options
from .jsonfile import MAX_PARTIAL, Stamp, rotation
from .options import Info
from .reader import Entry
from .rotate import RotatingFile

OPTS = ("max-file", "max-size", "compress")
DEFAULTS = {"max-size": "20m", "max-file": "5", "compress": "true"}
_HEAD = struct.Struct(">IBQ")
_LEN = struct.Struct(">I")
_STREAMS = {"stdout": 1, "stderr": 2}
_NAMES = {1: "stdout", 2: "stderr"}


def effective(config: dict[str, str]) -> dict[str, str]:
    return {**DEFAULTS, **config}


class LocalWriter:
    def __init__(self, path: str, config: dict[str, str] | None = None, info: Info | None = None) -> None:
        max_size, max_file, compress = rotation(effective(config or {}), "local")
        self.file = RotatingFile(path, max_size, max_file, compress)
        self._partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        ns = now_ns if now_ns is not None else time.time_ns()
        buf = self._partial.pop(stream, b"") + data if self._partial else data
        lines = buf.split(b"\n")
        rest = lines.pop()
        sid = _STREAMS.get(stream, 1)
        out = [_frame(sid, ns, line + b"\n") for line in lines]
        if len(rest) >= MAX_PARTIAL:
            out.append(_frame(sid, ns, rest))
        elif rest:
            self._partial[stream] = rest
        if out:
            self.file.write_entries(out)

    def flush(self, stream: str | None = None, now_ns: int | None = None) -> None:
        ns = now_ns if now_ns is not None else time.time_ns()
        for s in [stream] if stream else list(self._partial):
            rest = self._partial.pop(s, b"")
            if rest:
                self.file.write(_frame(_STREAMS.get(s, 1), ns, rest))

    def close(self) -> None:
        self.flush()
        self.file.close()


def _frame(sid: int, ns: int, data: bytes) -> bytes:
    n = len(data) + 9
    return _HEAD.pack(n, sid, ns) + data + _LEN.pack(n)


class LocalCodec:
    def __init__(self) -> None:
        self._stamp = Stamp()

    def parse(self, buf: bytes) -> tuple[list[Entry], int]:
        out = []
        pos, size = 0, len(buf)
        unpack = _HEAD.unpack_from
        stamp = self._stamp
        while pos + 13 <= size:
            n, sid, ns = unpack(buf, pos)
            end = pos + 4 + n + 4
            if end > size:
                break
            out.append(Entry(_NAMES.get(sid, "stdout"), stamp(ns), buf[pos + 13:end - 4]))
            pos = end
        return out, pos

    def tail_offset(self, f: IO[bytes], end: int, n: int) -> tuple[int, int]:
        pos, count = end, 0
        while pos > 0 and count < n:
            f.seek(pos - 4)
            (length,) = _LEN.unpack(f.read(4))
            start = pos - 8 - length
            if start < 0:
                return 0, count  # not a frame boundary (a torn write): read it all
            pos = start
            count += 1
        return pos, count


def validate(config: dict[str, str]) -> None:
    options.check_known("local", config, OPTS)
    rotation(effective(config), "local")


def cache_path(root_dir: str, id: str) -> str:
    return os.path.join(root_dir, "local-logs", "container.log")
