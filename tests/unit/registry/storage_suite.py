"""The conformance suite every `Storage` backend passes (filesystem here, S3 in tests/integration)."""
from __future__ import annotations

from pathlib import Path

from dockyard.registry.storage.base import Storage


def check_storage(storage: Storage, tmp: Path) -> None:
    assert storage.stat("a/b/c") is None
    assert storage.get("a/b/c") is None
    storage.put("a/b/c", b"value")
    st = storage.stat("a/b/c")
    assert st is not None and st.size == 5 and st.mtime > 0
    assert storage.get("a/b/c") == b"value"
    storage.put("a/b/c", b"new")  # overwrite
    assert storage.get("a/b/c") == b"new"
    storage.put("a/b/d", b"")
    storage.put("a/e/f", b"x")
    assert storage.list("a") == ["b", "e"]
    assert storage.list("a/b") == ["c", "d"]
    assert storage.list("nothing") == []
    assert sorted(k for k, _ in storage.walk("a")) == ["a/b/c", "a/b/d", "a/e/f"]
    src = tmp / "upload"
    src.write_bytes(b"0123456789" * 1000)
    storage.put_file("blobs/x", str(src))
    assert not src.exists()
    assert b"".join(storage.read_range("blobs/x", 5, 10)) == b"5678901234"
    assert b"".join(storage.read_range("blobs/x", 0, 10000)) == b"0123456789" * 1000
    storage.touch("blobs/x")
    assert storage.delete("a/b/c") is True
    assert storage.delete("a/b/c") is False
    assert storage.list("a/b") == ["d"]
    storage.delete_prefix("a")
    assert storage.list("a") == []
    assert storage.stat("a/e/f") is None
