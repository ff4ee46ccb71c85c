"""Fixtures for runtime tests on the real kernel: a busybox rootfs, bundles, and cleanup of every dytest- cgroup."""
from __future__ import annotations

import glob
import os
import signal
import uuid

import pytest

from tests.support.daemon import kill_supervisor

from .bundle import make_bundle, make_rootfs

ROOT_REASON = "needs root and a real kernel (namespaces, mounts, cgroups)"


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration/runtime" in str(item.fspath) and os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason=ROOT_REASON))


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory):
    return make_rootfs(str(tmp_path_factory.mktemp("dytest-rootfs") / "rootfs"))


def _kill_cgroup(d: str) -> None:
    try:
        with open(os.path.join(d, "cgroup.procs")) as f:
            for pid in f.read().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    except OSError:
        pass


@pytest.fixture
def cid():
    c = "dytest-" + uuid.uuid4().hex[:10]
    yield c
    # Whatever the test did, no cgroup of this container survives it.
    dirs = glob.glob(f"/sys/fs/cgroup/*/dytest/{c}") + glob.glob(f"/sys/fs/cgroup/dytest/{c}")
    for d in dirs:
        _kill_cgroup(d)
    for d in dirs:
        for _ in range(100):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                import time
                time.sleep(0.02)


@pytest.fixture(scope="session", autouse=True)
def _remove_parent_cgroups():
    yield
    for d in glob.glob("/sys/fs/cgroup/*/dytest") + glob.glob("/sys/fs/cgroup/dytest"):
        try:
            os.rmdir(d)
        except OSError:
            pass


@pytest.fixture
def bundle(tmp_path, rootfs, cid):
    def make(args, **kw):
        return make_bundle(str(tmp_path), rootfs, args, cid, **kw)
    return make


@pytest.fixture
def state_root(tmp_path):
    return str(tmp_path / "state")


@pytest.fixture
def exec_root(tmp_path):
    """An exec-root for a supervisor the test starts (through the client)."""
    root = str(tmp_path / "exec")
    yield root
    # stop it by its pid, never by name, and only while it still holds its lock
    # (a stale pid may have been reused by another process)
    kill_supervisor(root)
