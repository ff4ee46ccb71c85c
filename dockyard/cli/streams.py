"""Container output streams: the 8-byte multiplexed framing and copying it to stdout/stderr."""
from __future__ import annotations

import struct
import sys
from typing import BinaryIO, Callable, Iterator

STDIN, STDOUT, STDERR, SYSTEMERR = 0, 1, 2, 3
HEADER = struct.Struct(">BxxxL")


class Demuxer:
    """Incremental parser of `stream(1) 0 0 0 length(4, big-endian) payload` frames.

    feed() takes bytes as they arrive (frames may be split anywhere) and yields
    complete (stream, payload) pairs; `pending` is the count of unparsed bytes.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._buf += data
        while len(self._buf) >= HEADER.size:
            stream, length = HEADER.unpack_from(self._buf)
            if len(self._buf) < HEADER.size + length:
                break
            payload = bytes(self._buf[HEADER.size:HEADER.size + length])
            del self._buf[:HEADER.size + length]
            yield stream, payload

    @property
    def pending(self) -> int:
        return len(self._buf)


def frame(stream: int, payload: bytes) -> bytes:
    """Encode one frame (tests and fakes use it)."""
    return HEADER.pack(stream, len(payload)) + payload


def demux_all(data: bytes) -> list[tuple[int, bytes]]:
    return list(Demuxer().feed(data))


class SystemFailure(Exception):
    """The daemon wrote an error on the stream (stream type 3)."""


def pump(read: Callable[[], bytes], multiplexed: bool,
         stdout: BinaryIO | None = None, stderr: BinaryIO | None = None) -> None:
    """Copy a container output stream to stdout/stderr until EOF, flushing as it goes."""
    out = stdout or sys.stdout.buffer
    err = stderr or sys.stderr.buffer
    demuxer = Demuxer() if multiplexed else None
    while True:
        chunk = read()
        if not chunk:
            break
        if demuxer is None:
            out.write(chunk)
            out.flush()
            continue
        for stream, payload in demuxer.feed(chunk):
            if stream == SYSTEMERR:
                raise SystemFailure(payload.decode("utf-8", "replace").strip())
            target = err if stream == STDERR else out
            target.write(payload)
            target.flush()
