"""Read a log across its rotated (and gzip'd) generations: the last N entries, a time window, follow.

The record format is the codec's (json-file lines, the local driver's frames); this module owns
which files are read in which order and how a follow goes on across a rotation: it keeps the
file it read last open, drains it once the writer has moved on, and opens the new one.
"""
from __future__ import annotations

import asyncio
import io
import os
from typing import IO, AsyncIterator, Callable, Iterator, Protocol

from isal import igzip

from ..timefmt import parse_rfc3339_ns
from .rotate import generations

BLOCK = 1024 * 1024


class Entry:
    """One log entry: "stdout"/"stderr", its RFC 3339 nano time as written, the bytes."""

    __slots__ = ("stream", "time", "data")

    def __init__(self, stream: str, time: str, data: bytes) -> None:
        self.stream, self.time, self.data = stream, time, data

    def __repr__(self) -> str:
        return f"Entry({self.stream!r}, {self.time!r}, {self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.stream, self.time, self.data) == (other.stream, other.time, other.data)


class Codec(Protocol):
    def parse(self, buf: bytes) -> tuple[list[Entry], int]:
        """The entries of the complete records at the start of `buf`, and how many bytes they took."""

    def tail_offset(self, f: IO[bytes], end: int, n: int) -> tuple[int, int]:
        """Where the last `n` records before `end` start, and how many there were (maybe fewer)."""


class Cursor:
    """Where a read stopped: the log file it was reading (kept open) and the offset in it."""

    def __init__(self, path: str, f: IO[bytes] | None, offset: int) -> None:
        self.path, self.f, self.offset = path, f, offset
        self.last = ""  # the time of the last entry read: a follow that missed a rotation goes on after it

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


def _open(path: str) -> IO[bytes] | None:
    """A generation by name; gzip'd ones are decompressed whole (a generation is max-size at most)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        if path.endswith(".gz"):
            return None
        return _open(path + ".gz")  # compressed since it was listed
    if not path.endswith(".gz"):
        return f
    with f:
        try:
            return io.BytesIO(igzip.decompress(f.read()))
        except (OSError, EOFError):
            return None  # still being written (a crash mid-compression leaves the plain file too)


class Reader:
    """One read of a log: `batches()` yields lists of entries, then `cursor` says where to follow from."""

    def __init__(self, path: str, codec: Codec, tail: int | None = None, since: int = 0,
                 until: int | None = None) -> None:
        self.path, self.codec, self.tail = path, codec, tail
        self.since, self.until = since, until
        self.cursor = Cursor(path, None, 0)

    def batches(self) -> Iterator[list[Entry]]:
        try:
            current = open(self.path, "rb")
        except FileNotFoundError:
            return
        older = generations(self.path)[:-1]
        end = os.fstat(current.fileno()).st_size
        self.cursor = Cursor(self.path, current, end)
        if self.tail is not None and self.tail >= 0:
            yield from self._tail(older, current, end)
            return
        for p in older:
            f = _open(p)
            if f is not None:
                with f:
                    yield from self._scan(f, 0, None)
        yield from self._scan(current, 0, end, keep=True)

    def _tail(self, older: list[str], current: IO[bytes], end: int) -> Iterator[list[Entry]]:
        want = self.tail or 0
        if want == 0:
            return
        plan: list[tuple[IO[bytes], int, int | None]] = []
        start, got = self.codec.tail_offset(current, end, want)
        plan.append((current, start, end))
        for p in reversed(older):
            if got >= want:
                break
            f = _open(p)
            if f is None:
                continue
            f_end = f.seek(0, os.SEEK_END)
            start, n = self.codec.tail_offset(f, f_end, want - got)
            plan.append((f, start, None))
            got += n
        for f, start, stop in reversed(plan):
            yield from self._scan(f, start, stop, keep=f is current)
            if f is not current:
                f.close()

    def _scan(self, f: IO[bytes], start: int, stop: int | None, keep: bool = False) -> Iterator[list[Entry]]:
        """Parse from `start` to `stop` (EOF if None) in blocks; the current file records the cursor."""
        f.seek(start)
        pending = b""
        pos = start
        while stop is None or pos < stop:
            chunk = f.read(BLOCK if stop is None else min(BLOCK, stop - pos))
            if not chunk:
                break
            pos += len(chunk)
            buf = pending + chunk if pending else chunk
            entries, used = self.codec.parse(buf)
            pending = buf[used:]
            if entries:
                self.cursor.last = entries[-1].time
            entries = window(entries, self.since, self.until)
            if entries:
                yield entries
        if keep:
            self.cursor.offset = pos - len(pending)  # an incomplete last record is the follower's


def window(entries: list[Entry], since: int, until: int | None) -> list[Entry]:
    """`since`/`until` are integer nanoseconds: floats cannot tell entries 1 ns apart."""
    if not since and until is None:
        return entries
    out = []
    for e in entries:
        t = parse_rfc3339_ns(e.time)
        if t >= since and (until is None or t <= until):
            out.append(e)
    return out


def read(path: str, codec: Codec, tail: int | None = None, since: int = 0,
         until: int | None = None) -> tuple[list[Entry], Cursor]:
    """All of a read at once (tests, small logs)."""
    r = Reader(path, codec, tail, since, until)
    entries = [e for batch in r.batches() for e in batch]
    return entries, r.cursor


async def follow(cursor: Cursor, codec: Codec, running: Callable[[], bool], since: int = 0,
                 until: int | None = None, interval: float = 0.05) -> AsyncIterator[Entry]:
    """Entries written after the cursor, until the container stops and the log is drained.

    The file stays open while following, as Docker's reader does: a container removed right after
    it exits deletes the file, not what we still read; and a rotation renames it, so what was
    written to it before the rotation is still read, then the new file from its start.
    """
    f = cursor.f
    if f is None:
        try:
            f = open(cursor.path, "rb")
        except FileNotFoundError:
            return
        f.seek(cursor.offset)
    cursor.f = None
    pending = b""
    last = cursor.last
    try:
        while True:
            alive = running()
            chunk = await asyncio.to_thread(f.read, BLOCK)
            if chunk:
                pending += chunk
                entries, used = codec.parse(pending)
                pending = pending[used:]
                if entries:
                    last = entries[-1].time
                for e in window(entries, since, until):
                    yield e
                continue
            caught = await asyncio.to_thread(_catch_up, cursor.path, codec, last) \
                if _rotated_away(cursor.path, f) else None
            if caught is not None:
                f.close()
                missed, f, pending = caught
                if missed:
                    last = missed[-1].time
                for e in window(missed, since, until):
                    yield e
                continue
            if not alive:
                return
            await asyncio.sleep(interval)
    finally:
        f.close()


def _rotated_away(path: str, f: IO[bytes]) -> bool:
    """Whether the writer has moved on from the file we hold (which we have read to its end)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False  # removed with its container, or between a rotation's rename and open
    held = os.fstat(f.fileno())
    return (st.st_ino, st.st_dev) != (held.st_ino, held.st_dev)


def _catch_up(path: str, codec: Codec, last: str) -> tuple[list[Entry], IO[bytes], bytes] | None:
    """After a rotation: what the generations newer than the one we held have after the time `last`
    (more than one if the writer rotated twice since we looked), and the current file to go on with."""
    last_ns = parse_rfc3339_ns(last) if last else -1
    files = generations(path)
    try:
        current = open(path, "rb")
    except FileNotFoundError:
        return None  # between a rotation's rename and its open: look again
    data = current.read()
    found, used = codec.parse(data)
    newer: list[list[Entry]] = [found]
    for p in reversed(files[:-1]):
        if newer[0] and parse_rfc3339_ns(newer[0][0].time) <= last_ns:
            break  # this generation holds where we were: none older is new to us
        f = _open(p)
        if f is None:
            continue
        with f:
            newer.insert(0, codec.parse(f.read())[0])
    out = [e for batch in newer for e in batch if parse_rfc3339_ns(e.time) > last_ns]
    return out, current, data[used:]
