"""A container's tree deeper than the recursion limit and PATH_MAX: diff, export, cp, commit, rm,
rmi and the start-up clean-up all work (issue 14, defect 1), with the real docker CLI."""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
import uuid

import pytest

from dockyard.linux import fstree

pytestmark = pytest.mark.e2e

DEPTH = 2000  # > the recursion limit, and "d/" * DEPTH is longer than PATH_MAX
DEEP = f"cd /tmp; i=0; while [ $i -lt {DEPTH} ]; do mkdir d; cd d; i=$((i+1)); done; echo x > leaf"
LEAF = "tmp/" + "d/" * DEPTH + "leaf"


def _ok(r) -> bytes:
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def _tar_names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return tf.getnames()


def _overlay_tmp(d) -> list[str]:
    return os.listdir(d.data_root / "overlay" / "tmp")


def test_a_deep_tree_is_diffed_exported_copied_committed_and_removed(daemon, docker_cli):
    name = f"dytest-deep-{uuid.uuid4().hex[:8]}"
    image = f"dytest-deep:{uuid.uuid4().hex[:8]}"
    _ok(daemon.docker("run", "--name", name, "busybox", "sh", "-c", DEEP, timeout=120))
    try:
        diff = _ok(daemon.docker("diff", name)).decode().splitlines()
        assert f"A /{LEAF}" in diff and len(diff) >= DEPTH
        assert LEAF in _tar_names(_ok(daemon.docker("export", name, timeout=120)))
        assert LEAF[len("tmp/"):] in _tar_names(_ok(daemon.docker("cp", f"{name}:/tmp/d", "-", timeout=120)))
        _ok(daemon.docker("commit", name, image, timeout=120))
        # the committed image carries the whole tree: a container of it reads the leaf
        out = _ok(daemon.docker("run", "--rm", image, "sh", "-c", f"cd /tmp/{'d/' * 100} && ls"))
        assert out.decode().split() == ["d"]
        _ok(daemon.docker("rmi", image))
    finally:
        removed = daemon.docker("rm", "-f", name, timeout=120)
        daemon.docker("rmi", "-f", image)
    _ok(removed)
    assert name not in _ok(daemon.docker("ps", "-a", "--format", "{{.Names}}")).decode()
    assert not [n for n in _overlay_tmp(daemon) if n.startswith("rm-")]


def test_start_up_clean_up_survives_a_deep_leftover(fresh_daemon):
    """A deep rm-* dir a crash left in the overlay tmp dir: the next start removes it and serves."""
    d = fresh_daemon
    d.kill()
    leftover = d.data_root / "overlay" / "tmp" / f"rm-{uuid.uuid4().hex}"
    leftover.mkdir()
    fd = os.open(leftover, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(DEPTH):
            os.mkdir("d", dir_fd=fd)
            fd, old = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd), fd
            os.close(old)
    finally:
        os.close(fd)
    try:
        d.start()
        assert not leftover.exists()
    finally:
        fstree.remove_tree(leftover, ignore_errors=True)
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0


def test_a_leftover_that_cannot_be_removed_does_not_stop_the_daemon(fresh_daemon):
    d = fresh_daemon
    d.kill()
    stuck = d.data_root / "overlay" / "tmp" / f"rm-{uuid.uuid4().hex}"
    (stuck / "mnt").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "dytest-tmpfs", str(stuck / "mnt")], check=True)
    try:
        (stuck / "mnt" / "keep").write_text("mounted")
        d.start()
        assert d.docker("version").returncode == 0
        assert "cannot remove" in d.log_path.read_text()
        # what is mounted inside a tree being removed is never deleted through the mount
        assert (stuck / "mnt" / "keep").read_text() == "mounted"
    finally:
        subprocess.run(["umount", str(stuck / "mnt")])
