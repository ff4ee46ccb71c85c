"""Content-addressed blob store: blobs/sha256/<hex>, ingested through a hashing temp file."""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidParameter, NotFound
from ..linux import fstree

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")
_CHUNK = 1 << 20


def check_digest(digest: str) -> str:
    """Return `digest` if it is a well-formed sha256 digest, else raise InvalidParameter."""
    if not _DIGEST_RE.match(digest):
        raise InvalidParameter(f"invalid digest format: {digest}")
    return digest


class Writer:
    """An ingest in progress: bytes go to a temp file in the store's filesystem while hashed.

    Nothing is visible under blobs/ until `commit`; `abort` (or an exception in a `with`
    block) removes the temp file, so a bad input never leaves a half-stored blob.
    """

    def __init__(self, store: "ContentStore") -> None:
        self._store = store
        self.path = store.ingest_dir / uuid.uuid4().hex
        self._f: BinaryIO | None = open(self.path, "xb")
        self._hash = hashlib.sha256()
        self.size = 0
        self.digest: str | None = None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        assert self._f is not None, "write after commit/abort"
        self._hash.update(data)
        self._f.write(data)
        self.size += len(data)
        return len(data)

    def finish(self, expected: str | None = None) -> str:
        """Flush and fsync; verify `expected`. The blob is not visible yet (see `commit`)."""
        if self.digest is not None:
            return self.digest
        assert self._f is not None
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        self._f = None
        digest = "sha256:" + self._hash.hexdigest()
        if expected is not None and digest != expected:
            self.abort()
            raise InvalidParameter(f"digest mismatch: expected {expected}, got {digest}")
        self.digest = digest
        return digest

    def commit(self, expected: str | None = None) -> str:
        """Make the blob visible under its digest (atomic rename); an existing blob is kept."""
        digest = self.finish(expected)
        target = self._store.path(digest)
        if target.exists():
            self.path.unlink(missing_ok=True)
        else:
            os.rename(self.path, target)
            _fsync_dir(target.parent)
        return digest

    def abort(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


class ContentStore:
    """Blobs by sha256 digest under `<root>/blobs/sha256`, temp files under `<root>/ingest`."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / "blobs" / "sha256"
        self.ingest_dir = self.root / "ingest"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    def clean_ingests(self) -> None:
        """Drop temp files of ingests a previous process never finished (call at start-up only)."""
        fstree.remove_tree(self.ingest_dir, ignore_errors=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.blob_dir / check_digest(digest)[len("sha256:"):]

    def writer(self) -> Writer:
        return Writer(self)

    def ingest(self, stream: BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Copy `stream` into the store; returns (digest, size). Verifies `expected` if given."""
        if expected is not None:
            check_digest(expected)
        with self.writer() as w:
            while chunk := stream.read(_CHUNK):
                w.write(chunk)
            return w.commit(expected), w.size

    def put(self, data: bytes) -> str:
        """Store a small blob held in memory (image configs, manifests)."""
        with self.writer() as w:
            w.write(data)
            return w.commit()

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    # The rename is only durable once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
