"""The log driver seam: what every log driver (json-file, local, none, syslog, gelf, fluentd, journald) provides.

The writing side runs in the supervisor (so logs outlive a daemon restart), the reading side in
the daemon for `docker logs`. A remote driver also writes a local cache (Docker 20.10's dual
logging), so every driver but `none` is readable.
"""
from __future__ import annotations

from typing import AsyncIterator, Callable, Protocol

from .options import Info
from .reader import Cursor, Entry, Reader


class LogWriter(Protocol):
    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        """Record container output of `stream` ("stdout"/"stderr"), split into entries by line."""

    def flush(self, stream: str | None = None, now_ns: int | None = None) -> None:
        """Record a pending partial line as its own entry."""

    def close(self) -> None: ...


class LogDriver(Protocol):
    name: str
    readable: bool

    def validate(self, config: dict[str, str]) -> dict[str, str]:
        """The effective options (defaults filled in); Docker's message for a bad one."""

    def log_path(self, root_dir: str, id: str) -> str:
        """Where the container's log (or the local cache of a remote driver) lives; "" for none."""

    def open_writer(self, path: str, config: dict[str, str], info: Info) -> LogWriter: ...

    def reader(self, path: str, tail: int | None = None, since: int = 0, until: int | None = None) -> Reader:
        """A read of the window (times in integer ns); its cursor is where a follow goes on."""

    def follow(self, cursor: Cursor, running: Callable[[], bool], since: int = 0,
               until: int | None = None) -> AsyncIterator[Entry]:
        """Entries written after the cursor, until `running()` is False and the log is drained."""
