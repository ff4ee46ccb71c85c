"""Stream plumbing for handlers: stdout/stderr framing, blocking producers, spooled bodies."""
from __future__ import annotations

import asyncio
import os
import struct
import tempfile
from typing import IO, AsyncIterator, Callable

from .http import Request

STDIN, STDOUT, STDERR = 0, 1, 2
STREAM_IDS = {"stdout": STDOUT, "stderr": STDERR}
CHUNK = 64 * 1024


def frame(stream: int, data: bytes) -> bytes:
    """The 8-byte multiplexing header Docker puts before each non-TTY output chunk."""
    return struct.pack(">BxxxL", stream, len(data)) + data


async def from_thread(producer: Callable[[IO[bytes]], None]) -> AsyncIterator[bytes]:
    """Run a blocking `producer(out)` in a thread and yield what it writes, chunk by chunk.

    A pipe carries the bytes, so a client that goes away makes the producer's next write
    fail (EPIPE) instead of blocking the thread forever.
    """
    r, w = os.pipe()

    def run() -> None:
        with os.fdopen(w, "wb", buffering=CHUNK) as out:
            producer(out)

    task = asyncio.ensure_future(asyncio.to_thread(run))
    try:
        while True:
            data = await asyncio.to_thread(os.read, r, CHUNK)
            if not data:
                break
            yield data
    finally:
        os.close(r)
        try:
            await task
        except BrokenPipeError:
            pass


async def spool(request: Request, directory: str) -> IO[bytes]:
    """Copy the request body into an unlinked temp file (rewound) for a blocking consumer."""
    os.makedirs(directory, exist_ok=True)
    f = tempfile.TemporaryFile(dir=directory)
    pending: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            pending.append(chunk)
            size += len(chunk)
            if size >= 1 << 20:
                await asyncio.to_thread(f.write, b"".join(pending))
                pending, size = [], 0
        if pending:
            await asyncio.to_thread(f.write, b"".join(pending))
        f.seek(0)
        return f
    except BaseException:
        f.close()
        raise
