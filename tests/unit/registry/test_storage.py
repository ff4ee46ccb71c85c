"""The filesystem backend passes the storage conformance suite, and its writes are atomic."""
from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.registry.storage.filesystem import FilesystemStorage

from .storage_suite import check_storage


def test_filesystem_conformance(tmp_path: Path) -> None:
    check_storage(FilesystemStorage(str(tmp_path / "root")), tmp_path)


def test_filesystem_rejects_traversal_and_leaves_no_temp_files(tmp_path: Path) -> None:
    s = FilesystemStorage(str(tmp_path / "root"))
    with pytest.raises(ValueError):
        s.put("a/../../etc/x", b"no")
    s.put("k/v", b"1")
    assert [p.name for p in (tmp_path / "root/k").iterdir()] == ["v"]
