"""Fixtures: an image + distribution service on a temp data root, a Debian docker-registry."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.distribution.hosts import RegistryConfig
from dockyard.distribution.service import DistributionService
from dockyard.images import ImageService
from dockyard.store.db import Database

from .goregistry import GoRegistry, have_tools


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration/distribution" in str(item.fspath):
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="needs root: layers are unpacked with owners and devices"))
            elif not have_tools():
                item.add_marker(pytest.mark.skip(reason="needs docker-registry, skopeo, htpasswd (scripts/setup)"))


class Env:
    def __init__(self, tmp: Path, **registry: object) -> None:
        self.tmp = tmp
        self.db = Database(tmp / "db.sqlite")
        self.images = ImageService(self.db, tmp / "root")
        self.reconfigure(**registry)

    def reconfigure(self, **registry: object) -> None:
        registry.setdefault("certs_dirs", (self.tmp / "certs.d",))
        self.dist = DistributionService(self.images, RegistryConfig(**registry), self.tmp / "root" / "tmp")  # type: ignore[arg-type]

    def leftovers(self) -> list[str]:
        """Temp files of ingests, unpacks and pushes that should be gone after any pull or push."""
        root = self.tmp / "root"
        out = [str(p) for p in (root / "content" / "ingest").iterdir()]
        out += [str(p) for p in (root / "overlay" / "tmp").iterdir()]
        out += [str(p) for p in (root / "tmp").iterdir()]
        return out


@pytest.fixture
def env(tmp_path: Path):
    e = Env(tmp_path)
    try:
        yield e
    finally:
        e.dist.close()
        e.db.close()


@pytest.fixture
def registry(tmp_path: Path):
    reg = GoRegistry(tmp_path / "registry").start()
    try:
        yield reg
    finally:
        reg.stop()
