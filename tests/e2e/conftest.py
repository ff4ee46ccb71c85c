"""Fixtures for end-to-end tests: a private daemon with a busybox image, driven by real clients."""
from __future__ import annotations

import shutil

import pytest

from tests.support.daemon import private_daemon


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def daemon():
    with private_daemon() as d:
        yield d


@pytest.fixture()
def fresh_daemon():
    """A daemon of its own, for tests that kill or restart it."""
    with private_daemon() as d:
        yield d


@pytest.fixture()
def docker_cli(daemon):
    if shutil.which("docker") is None:
        pytest.skip("needs the docker CLI (package docker-ce-cli or docker.io)")
    return daemon.docker
