"""Read json-file logs: the last N entries, a time window, and following new lines."""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from ..timefmt import parse_rfc3339_ns

BLOCK = 64 * 1024


@dataclass
class Entry:
    stream: str      # "stdout" | "stderr"
    time: str        # RFC 3339 nano, as written
    data: bytes


def _parse(line: bytes) -> Entry | None:
    try:
        obj = json.loads(line)
        return Entry(obj.get("stream", "stdout"), obj.get("time", ""),
                     obj.get("log", "").encode("utf-8", "surrogateescape"))
    except (ValueError, AttributeError):
        return None  # a torn last line (writer mid-write) or garbage: skip, as Docker does


def _tail_offset(f, lines: int) -> int:
    """Offset of the start of the last `lines` lines, reading backwards in blocks."""
    f.seek(0, os.SEEK_END)
    end = pos = f.tell()
    count = 0
    while pos > 0:
        step = min(BLOCK, pos)
        pos -= step
        f.seek(pos)
        block = f.read(step)
        # a trailing newline ends the last line; it does not start a new one
        if pos + step == end and block.endswith(b"\n"):
            block = block[:-1]
        idx = len(block)
        while True:
            idx = block.rfind(b"\n", 0, idx)
            if idx < 0:
                break
            count += 1
            if count == lines:
                return pos + idx + 1
    return 0


def read(path: str, tail: int | None = None, since: int = 0,
         until: int | None = None) -> tuple[list[Entry], int]:
    """Entries in the window and the file offset where reading stopped (for following)."""
    entries: list[Entry] = []
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return entries, 0
    with f:
        if tail is not None and tail >= 0:
            if tail == 0:
                f.seek(0, os.SEEK_END)
                return entries, f.tell()
            f.seek(_tail_offset(f, tail))
        offset = f.tell()
        for line in f:
            if not line.endswith(b"\n"):
                break  # incomplete: leave it for the follower
            offset += len(line)
            entry = _parse(line)
            if entry is None or not _in_window(entry, since, until):
                continue
            entries.append(entry)
    return entries, offset


def _in_window(entry: Entry, since: int, until: int | None) -> bool:
    """`since`/`until` are integer nanoseconds: floats cannot tell entries 1 ns apart."""
    if not since and until is None:
        return True
    t = parse_rfc3339_ns(entry.time)
    return t >= since and (until is None or t <= until)


async def follow(path: str, offset: int, running: Callable[[], bool], since: int = 0,
                 until: int | None = None, interval: float = 0.05) -> AsyncIterator[Entry]:
    """New entries written after `offset`, until the container stops and the file is drained.

    The file stays open while following, as Docker's reader does: a container removed right
    after it exits (docker-py's `run(remove=True)`) deletes the file, not what we still read.
    """
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    pending = b""
    with f:
        f.seek(offset)
        while True:
            alive = running()
            chunk = await asyncio.to_thread(f.read, BLOCK * 4)
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    entry = _parse(line)
                    if entry is not None and _in_window(entry, since, until):
                        yield entry
                continue
            if not alive:
                return
            await asyncio.sleep(interval)
