"""One conformance suite for every storage driver in snapshots.BUILTIN, on the real kernel (root).

Each driver takes layers (with whiteouts), stacks them, gives a container a writable rootfs that
`mounter` mounts, reports the container's changes, and removes what it made. Plus the choice
among drivers: names, aliases, the prior driver of a data root, and the vfs fallback where
overlayfs cannot be mounted.
"""
from __future__ import annotations

import io
import logging
import os
import tarfile
from pathlib import Path
from typing import Iterator

import pytest

from dockyard import errors
from dockyard.linux.mount import MNT_DETACH, is_mountpoint, mount, umount
from dockyard.snapshots import BUILTIN, Driver, mounter, new_driver, select
from dockyard.snapshots.drivers import canonical, names
from tests.unit.snapshots.tars import make_tar

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mounts, whiteout devices, xattrs")

BASE = make_tar([("bin", "dir"), ("bin/sh", "file", b"#!sh"), ("etc", "dir"), ("etc/gone", "file", b"x"),
                 ("etc/kept", "file", b"k")])
TOP = make_tar([("etc", "dir"), ("etc/.wh.gone", "file"), ("etc/added", "file", b"new")])


def _mounts_under(prefix: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return sorted((line.split()[4] for line in f if line.split()[4].startswith(prefix)), reverse=True)


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "root"
    for point in _mounts_under(str(tmp_path)):
        umount(point, MNT_DETACH)


@pytest.fixture(params=[name for name, _aliases, _factory in BUILTIN])
def driver(request: pytest.FixtureRequest, root: Path) -> Driver:
    return new_driver(request.param, root)


def _layer(d: Driver, parent: str | None, tar: bytes, chain_id: str) -> bool:
    pending = d.begin_layer(parent)
    d.apply(pending, io.BytesIO(tar))
    return d.commit_layer(pending, chain_id)


def test_layers_are_published_once_sized_listed_and_removed(driver: Driver) -> None:
    assert _layer(driver, None, BASE, "a" * 64)
    assert not _layer(driver, None, BASE, "a" * 64)  # a second commit of the same chain is dropped
    assert driver.has_layer("a" * 64) and "a" * 64 in driver.known_ids()
    assert driver.layer_size("a" * 64) >= len(b"#!sh") + len(b"x") + len(b"k")
    driver.remove_layer("a" * 64)
    assert not driver.has_layer("a" * 64)


def test_a_discarded_pending_layer_leaves_nothing(driver: Driver) -> None:
    before = driver.known_ids()
    pending = driver.begin_layer(None)
    driver.apply(pending, io.BytesIO(BASE))
    driver.discard(pending)
    assert not pending.path.exists() and driver.known_ids() == before


def test_container_rootfs_stacks_layers_with_whiteouts_and_records_changes(driver: Driver, tmp_path: Path) -> None:
    _layer(driver, None, BASE, "b" * 64)
    _layer(driver, "b" * 64, TOP, "c" * 64)
    m = driver.prepare("d" * 64, "c" * 64)
    assert m == driver.mounts("d" * 64)
    target = tmp_path / "rootfs"
    mounter.mount(m, str(target))
    try:
        assert (target / "bin/sh").read_bytes() == b"#!sh" and (target / "etc/added").read_bytes() == b"new"
        assert not (target / "etc/gone").exists() and (target / "etc/kept").exists()
        (target / "written").write_bytes(b"by the container")
    finally:
        mounter.unmount(str(target))
    assert not is_mountpoint(str(target))
    out = io.BytesIO()
    driver.diff("d" * 64, out)
    out.seek(0)
    with tarfile.open(fileobj=out) as tf:
        assert "written" in [n.lstrip("./") for n in tf.getnames()]
    assert driver.diff_size("d" * 64) >= len(b"by the container")
    driver.remove("d" * 64)
    assert "d" * 64 not in driver.known_ids()


def test_names_and_status_are_what_info_reports(driver: Driver) -> None:
    assert driver.name in names()
    assert canonical(driver.name) == driver.name
    assert all(isinstance(pair, list) and len(pair) == 2 for pair in driver.status())


# --- choosing a driver ----------------------------------------------------------------------

def test_overlay_is_an_alias_of_overlay2_and_unknown_names_are_refused(root: Path) -> None:
    assert canonical("overlay") == "overlay2"
    with pytest.raises(errors.InvalidParameter, match="driver not supported: zfs"):
        new_driver("zfs", root)


def test_an_explicit_driver_is_used_and_the_default_prefers_overlay2(root: Path, tmp_path: Path) -> None:
    assert select("vfs", root).name == "vfs"
    assert select("", tmp_path / "fresh").name == "overlay2"  # tmp_path is not itself an overlay


def test_the_default_keeps_the_driver_that_holds_the_data_roots_layers(root: Path) -> None:
    _layer(new_driver("vfs", root), None, BASE, "e" * 64)
    assert select("", root).name == "vfs"


def test_overlay_on_overlay_falls_back_to_vfs_with_a_log_line(tmp_path: Path, root: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    dirs = {d: tmp_path / d for d in ("lower", "upper", "work", "merged")}
    for d in dirs.values():
        d.mkdir()
    mount("overlay", str(dirs["merged"]), "overlay", 0,
          f"lowerdir={dirs['lower']},upperdir={dirs['upper']},workdir={dirs['work']}")
    data_root = dirs["merged"] / "data"  # a data root on an overlay, as in a container
    with caplog.at_level(logging.WARNING, logger="dockyard.snapshots"):
        chosen = select("", data_root)
    if chosen.name == "overlay2":
        pytest.skip("this kernel mounts overlay on overlay")
    assert chosen.name == "vfs"
    assert any("falling back to vfs" in r.getMessage() for r in caplog.records)
    with pytest.raises(errors.InvalidParameter, match="overlayfs cannot be mounted"):
        select("overlay2", data_root)
    assert not [p for p in data_root.iterdir() if p.name.startswith("overlay-probe")]  # probe undone
