"""Fixtures: an image service on a temp data root, and a small busybox-like rootfs tar."""
from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.images import ImageService
from dockyard.store.db import Database
from tests.unit.snapshots.tars import make_tar


@pytest.fixture
def svc(tmp_path: Path) -> ImageService:
    db = Database(tmp_path / "db.sqlite")
    yield ImageService(db, tmp_path / "root")
    db.close()


@pytest.fixture
def rootfs() -> bytes:
    return make_tar([("bin", "dir"), ("bin/sh", "file", b"#!shell", 0o755), ("bin/ls", "sym", "sh"),
                     ("etc", "dir"), ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n"),
                     ("tmp", "dir", b"", 0o1777), ("bin/sh2", "link", "bin/sh")])
