"""The fd-relative walker on trees deeper than the recursion limit and longer than PATH_MAX."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dockyard.linux import fstree

DEPTH = 2100  # > sys.getrecursionlimit(), and "d/" * DEPTH > PATH_MAX


def _deep(top: Path, depth: int = DEPTH) -> None:
    """A chain of `depth` dirs "d", a 3-byte file at the bottom and a symlink on the way."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(depth):
            os.mkdir("d", dir_fd=fd)
            if i == 10:
                os.symlink("/", "up", dir_fd=fd)
            nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        wfd = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(wfd, b"abc")
        os.close(wfd)
    finally:
        os.close(fd)


@pytest.fixture
def tmp_path(tmp_path: Path):  # type: ignore[no-untyped-def]
    """pytest's own clean-up (shutil.rmtree) recurses: remove the deep tree ourselves."""
    yield tmp_path
    for child in tmp_path.iterdir():
        fstree.remove_tree(child)


def test_the_tree_is_deeper_than_what_recursion_and_paths_allow(tmp_path: Path) -> None:
    _deep(tmp_path)
    assert DEPTH > sys.getrecursionlimit()
    with pytest.raises(OSError):
        os.lstat(os.path.join(tmp_path, *["d"] * DEPTH, "leaf"))  # ENAMETOOLONG


def test_walk_visits_every_level_in_order_and_reads_the_leaf(tmp_path: Path) -> None:
    _deep(tmp_path)
    rels, leaf = [], b""
    for e in fstree.walk(str(tmp_path)):
        rels.append(e.rel)
        if e.name == "leaf":
            with e.open() as f:
                leaf = f.read()
        if e.name == "up":
            assert e.readlink() == "/"
    assert len(rels) == DEPTH + 2
    assert rels[0] == "d" and rels[DEPTH] == "/".join(["d"] * DEPTH + ["leaf"])
    assert rels[-1] == "/".join(["d"] * 10 + ["up"])  # sorted: the chain below "d" comes before "up"
    assert leaf == b"abc"
    assert fstree.tree_size(str(tmp_path)) == 3


def test_remove_tree_removes_it_all_and_never_follows_a_symlink(tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_text("x")
    top = tmp_path / "top"
    top.mkdir()
    _deep(top)
    os.symlink(keep, top / "link")
    fstree.remove_tree(top)
    assert not top.exists()
    assert (keep / "file").read_text() == "x"
    fstree.remove_tree(top)  # gone already: nothing to do


def test_open_fds_do_not_grow_with_depth(tmp_path: Path) -> None:
    _deep(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    most = 0
    for _ in fstree.walk(str(tmp_path)):
        most = max(most, len(os.listdir("/proc/self/fd")) - before)
    assert most <= 3
    assert len(os.listdir("/proc/self/fd")) == before
