"""Root-only image tests: skip without root; every mount made under tmp_path is undone."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.images import ImageService
from dockyard.linux.mount import MNT_DETACH, umount
from dockyard.store.db import Database


def pytest_collection_modifyitems(items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="needs root: overlay mounts, whiteout devices, trusted.* xattrs")
        for item in items:
            if "root" in item.keywords:
                item.add_marker(skip)


def _mounts_under(prefix: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return sorted((p for p in points if p.startswith(prefix)), reverse=True)


@pytest.fixture
def svc(tmp_path: Path):
    db = Database(tmp_path / "db.sqlite")
    try:
        yield ImageService(db, tmp_path / "root")
    finally:
        db.close()
        for point in _mounts_under(str(tmp_path)):
            umount(point, MNT_DETACH)
