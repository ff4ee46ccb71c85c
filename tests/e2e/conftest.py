"""Fixtures for end-to-end tests: a private daemon with a busybox image, driven by real clients."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

import pytest

from tests.support.daemon import TestDaemon, import_busybox


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@contextmanager
def _private_daemon():
    if os.geteuid() != 0:
        pytest.skip("needs root: the daemon mounts overlayfs and creates namespaces and cgroups")
    d = TestDaemon()
    try:
        d.start()
        import_busybox(d)
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="session")
def daemon():
    with _private_daemon() as d:
        yield d


@pytest.fixture()
def fresh_daemon():
    """A daemon of its own, for tests that kill or restart it."""
    with _private_daemon() as d:
        yield d


@pytest.fixture()
def docker_cli(daemon):
    if shutil.which("docker") is None:
        pytest.skip("needs the docker CLI (package docker-ce-cli or docker.io)")
    return daemon.docker
