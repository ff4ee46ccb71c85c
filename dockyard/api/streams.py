"""Stream plumbing for handlers: stdout/stderr framing, blocking producers, spooled bodies."""
from __future__ import annotations

import asyncio
import os
import struct
import tempfile
import threading
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
    loop = asyncio.get_running_loop()
    r, w = os.pipe()
    finished: asyncio.Future[BaseException | None] = loop.create_future()

    def settle(outcome: BaseException | None) -> None:
        if not finished.done():
            finished.set_result(outcome)

    def run() -> None:
        # Its own thread, not the shared executor: a producer blocked on a full pipe must
        # never hold a worker that the reading side (or any other request) needs.
        outcome: BaseException | None = None
        try:
            with os.fdopen(w, "wb", buffering=CHUNK) as out:
                producer(out)
        except BaseException as e:  # handed to the event loop, which decides what it means
            outcome = e
        loop.call_soon_threadsafe(settle, outcome)

    reader = asyncio.StreamReader(limit=4 * CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(r, "rb", buffering=0))
    threading.Thread(target=run, name="stream-producer", daemon=True).start()
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            yield data
    finally:
        transport.close()  # the producer's next write fails with EPIPE if it is not done yet
        outcome = await finished
        if outcome is not None and not isinstance(outcome, BrokenPipeError):
            raise outcome


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
