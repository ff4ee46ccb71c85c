"""Content store: digests, verification, atomicity."""
from __future__ import annotations

import hashlib
import io

import pytest

from dockyard.content import ContentStore
from dockyard.errors import InvalidParameter, NotFound


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Exploding(io.BytesIO):
    """A stream that fails half-way, like a dropped connection."""

    def read(self, n: int = -1) -> bytes:
        if self.tell() > 0:
            raise ConnectionResetError("peer went away")
        return super().read(4)


def test_ingest_roundtrip(tmp_path):
    cs = ContentStore(tmp_path)
    d, size = cs.ingest(io.BytesIO(b"hello"))
    assert d == digest(b"hello") and size == 5
    assert cs.exists(d) and cs.read(d) == b"hello" and cs.size(d) == 5
    assert cs.path(d).name == d[7:]
    cs.delete(d)
    assert not cs.exists(d)
    with pytest.raises(NotFound):
        cs.open(d)


def test_expected_digest_verified_and_nothing_left(tmp_path):
    cs = ContentStore(tmp_path)
    with pytest.raises(InvalidParameter, match="digest mismatch"):
        cs.ingest(io.BytesIO(b"evil"), expected=digest(b"good"))
    assert list(cs.blob_dir.iterdir()) == [] and list(cs.ingest_dir.iterdir()) == []


def test_truncated_stream_leaves_nothing(tmp_path):
    cs = ContentStore(tmp_path)
    with pytest.raises(ConnectionResetError):
        cs.ingest(Exploding(b"x" * 100))
    assert list(cs.blob_dir.iterdir()) == [] and list(cs.ingest_dir.iterdir()) == []


def test_bad_digest_format(tmp_path):
    cs = ContentStore(tmp_path)
    for bad in ("sha256:xyz", "md5:" + "0" * 32, "../../etc/passwd"):
        with pytest.raises(InvalidParameter):
            cs.path(bad)


def test_writer_commit_is_idempotent_for_existing(tmp_path):
    cs = ContentStore(tmp_path)
    d1 = cs.put(b"same")
    d2 = cs.put(b"same")
    assert d1 == d2 and list(cs.ingest_dir.iterdir()) == []


def test_clean_ingests(tmp_path):
    cs = ContentStore(tmp_path)
    w = cs.writer()
    w.write(b"partial")
    cs.clean_ingests()
    assert list(cs.ingest_dir.iterdir()) == []
