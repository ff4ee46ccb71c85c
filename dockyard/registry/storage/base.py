"""The `Storage` protocol: a small key/value interface every backend implements (filesystem, S3).

Keys are '/'-separated paths ('blobs/sha256/ab/<hex>', 'repositories/<name>/_manifests/...').
The registry's semantics (links, tags, referrers) live above it, in `registry/store.py`, so a
backend only moves bytes. Every call may block; a backend says whether it is cheap enough to
call on the event loop (`blocking = False`) or must go to a worker thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol


@dataclass(frozen=True)
class Stat:
    size: int
    mtime: float


class Storage(Protocol):
    blocking: bool

    def stat(self, key: str) -> Stat | None:
        """Size and modification time of a key, or None when it does not exist."""

    def get(self, key: str) -> bytes | None:
        """The whole value (small objects: links, manifests), or None."""

    def put(self, key: str, data: bytes) -> None:
        """Stores a value atomically: readers see the old value or the new, never a part."""

    def put_file(self, key: str, path: str) -> None:
        """Moves a finished local file in as the value of key (the file is consumed)."""

    def touch(self, key: str) -> None:
        """Refreshes the modification time (GC's grace period counts from it)."""

    def delete(self, key: str) -> bool:
        """Removes a key; False when it was not there."""

    def delete_prefix(self, prefix: str) -> None:
        """Removes every key under prefix/."""

    def list(self, prefix: str) -> list[str]:
        """Names of the immediate children of prefix/ (keys and 'directories'), sorted."""

    def walk(self, prefix: str) -> Iterator[tuple[str, Stat]]:
        """Every key under prefix/ with its stat, recursively."""

    def local_path(self, key: str) -> str | None:
        """A local file holding the value (for zero-copy sendfile), when the backend has one."""

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        """The bytes [start, start+length) of a value, in chunks."""
