"""The log driver seam: what a log driver (json-file today; later local, syslog, plugins) provides.

The writing side runs in the supervisor (so logs outlive a daemon restart), the reading side
in the daemon for `docker logs`.
"""
from __future__ import annotations

from typing import AsyncIterator, Callable, Protocol

from .reader import Entry


class LogWriter(Protocol):
    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        """Record container output of `stream` ("stdout"/"stderr"), split into entries by line."""

    def flush(self, stream: str | None = None, now_ns: int | None = None) -> None:
        """Record a pending partial line as its own entry."""

    def close(self) -> None: ...


class LogDriver(Protocol):
    name: str

    def open_writer(self, path: str) -> LogWriter: ...

    def read(self, path: str, tail: int | None = None, since: int = 0,
             until: int | None = None) -> tuple[list[Entry], int]:
        """Entries in the window (times in integer ns) and the offset to follow from."""

    def follow(self, path: str, offset: int, running: Callable[[], bool], since: int = 0,
               until: int | None = None) -> AsyncIterator[Entry]:
        """Entries written after `offset`, until `running()` is False and the log is drained."""
