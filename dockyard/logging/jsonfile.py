"""Docker's json-file log format: one JSON object per line of container output, rotated by size.

The bytes on disk are Docker's (`{"log":...,"stream":...,"attrs":{...},"time":...}` and
`x.log.N[.gz]` generations), so tools that read Docker's logs read ours.
"""
from __future__ import annotations

import os
import time
from typing import IO, Any

import orjson

from ..errors import InvalidParameter
from ..timefmt import rfc3339_ns as _rfc3339_ns
from . import options
from .options import Info
from .reader import Entry
from .rotate import RotatingFile

# Docker's copier flushes a line that grows past this without a newline.
MAX_PARTIAL = 16 * 1024
OPTS = ("max-file", "max-size", "compress", *options.ATTRS)
BLOCK = 64 * 1024


def rfc3339_ns(ns: int) -> str:
    """Docker's log time stamp: UTC with all nine fraction digits (RFC3339NanoFixed)."""
    return _rfc3339_ns(ns, fixed=True)


class Stamp:
    """rfc3339_ns with the seconds part cached: a busy container writes many entries per second."""

    def __init__(self) -> None:
        self._sec = -1
        self._head = ""

    def __call__(self, ns: int) -> str:
        sec, frac = divmod(ns, 1_000_000_000)
        if sec != self._sec:
            self._sec, self._head = sec, _rfc3339_ns(sec * 1_000_000_000, digits=0)[:-1]
        return f"{self._head}.{frac:09d}Z"


def rotation(config: dict[str, str], driver: str = "json-file") -> tuple[int, int, bool]:
    """max-size (bytes, -1 unbounded), max-file and compress, checked as Docker's drivers do."""
    max_size = -1
    if "max-size" in config:
        max_size = options.parse_size(config["max-size"])
        if max_size <= 0:
            raise InvalidParameter("max-size must be a positive number")
    max_file = 1
    if "max-file" in config:
        max_file = options.parse_int("max-file", config["max-file"])
        if max_file < 1:
            raise InvalidParameter("max-file cannot be less than 1")
    compress = options.parse_bool(config["compress"]) if "compress" in config else False
    if compress and (max_file == 1 or max_size == -1):
        raise InvalidParameter("compress cannot be true when max-file is less than 2 or max-size is not set")
    return max_size, max_file, compress


class JsonFileWriter:
    """Writer of `{"log": ..., "stream": ..., "time": ...}` lines; one entry per output line."""

    def __init__(self, path: str, config: dict[str, str] | None = None, info: Info | None = None) -> None:
        config = config or {}
        self.path = path
        max_size, max_file, compress = rotation(config)
        self.file = RotatingFile(path, max_size, max_file, compress)
        attrs: dict[str, Any] = options.extra_attributes(config, info or Info())
        tag = options.tag(config, info or Info(), default="") if "tag" in config else ""
        if tag:
            attrs["tag"] = tag
        # Docker writes the keys in this order; attrs only when there are some.
        self._mid = (b'","attrs":' + orjson.dumps(attrs) + b',"time":"') if attrs else b'","time":"'
        self._partial: dict[str, bytes] = {}
        self._stamp = Stamp()

    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        """Log every complete line in `data`; a trailing partial line waits for its end (or flush)."""
        ts = self._stamp(now_ns if now_ns is not None else time.time_ns()).encode()
        buf = self._partial.pop(stream, b"") + data if self._partial else data
        lines = buf.split(b"\n")
        rest = lines.pop()
        head = b'{"log":'
        tail = b',"stream":"' + stream.encode() + self._mid + ts + b'"}\n'
        out = [head + _quote(line + b"\n") + tail for line in lines]
        if len(rest) >= MAX_PARTIAL:
            out.append(head + _quote(rest) + tail)
        elif rest:
            self._partial[stream] = rest
        if out:
            self.file.write_entries(out)

    def flush(self, stream: str | None = None, now_ns: int | None = None) -> None:
        """Write out partial trailing data as-is (the stream ended without a newline)."""
        ts = self._stamp(now_ns if now_ns is not None else time.time_ns()).encode()
        for s in [stream] if stream else list(self._partial):
            rest = self._partial.pop(s, b"")
            if rest:
                self.file.write(b'{"log":' + _quote(rest) + b',"stream":"' + s.encode() + self._mid + ts + b'"}\n')

    def close(self) -> None:
        self.flush()
        self.file.close()


def _quote(chunk: bytes) -> bytes:
    # Invalid UTF-8 becomes U+FFFD, as Go's encoder does.
    try:
        return orjson.dumps(chunk.decode("utf-8"))
    except UnicodeDecodeError:
        return orjson.dumps(chunk.decode("utf-8", "replace"))


class JsonCodec:
    """json-file records for the reader: lines, found backwards by their newlines for --tail."""

    def parse(self, buf: bytes) -> tuple[list[Entry], int]:
        end = buf.rfind(b"\n") + 1
        if not end:
            return [], 0
        out = []
        loads = orjson.loads
        for line in buf[:end].split(b"\n")[:-1]:
            try:
                obj = loads(line)
                out.append(Entry(obj.get("stream", "stdout"), obj.get("time", ""),
                                 obj.get("log", "").encode("utf-8", "surrogateescape")))
            except (ValueError, AttributeError):
                continue  # garbage (a torn line after a crash): skip, as Docker does
        return out, end

    def tail_offset(self, f: IO[bytes], end: int, n: int) -> tuple[int, int]:
        pos = end
        count = 0
        first = True
        while pos > 0:
            step = min(BLOCK, pos)
            pos -= step
            f.seek(pos)
            block = f.read(step)
            # a trailing newline ends the last line; it does not start a new one
            if first and block.endswith(b"\n"):
                block = block[:-1]
            first = False
            idx = len(block)
            while True:
                idx = block.rfind(b"\n", 0, idx)
                if idx < 0:
                    break
                count += 1
                if count == n:
                    return pos + idx + 1, count
        return 0, count + (1 if end else 0)


def validate(config: dict[str, str]) -> None:
    options.check_known("json-file", config, OPTS)
    rotation(config)
    options.check_attrs(config)


def remove(path: str) -> None:
    from .rotate import remove_all
    remove_all(path)


def cache_path(root_dir: str, id: str) -> str:
    return os.path.join(root_dir, f"{id}-json.log")
