"""One conformance suite for every volume driver in volumes.drivers.BUILTIN and for a VolumeDriver
plugin (tests/plugins/servers/volume_dir.py, a real process) behind the plugin client."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from dockyard import errors
from dockyard.plugins.client import Timing
from dockyard.plugins.config import PluginConfig
from dockyard.plugins.discovery import Dirs
from dockyard.plugins.setup import PluginSystem
from dockyard.volumes.driver import VolumeDriver
from dockyard.volumes.drivers import BUILTIN, builtin
from tests.plugins.servers import PluginProcess

PLUGINS = ["plugin:volume_dir"]


@pytest.fixture(params=[cls.name for cls in BUILTIN] + PLUGINS)
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VolumeDriver]:
    if not request.param.startswith("plugin:"):
        yield builtin(str(tmp_path / "volumes"))[request.param]
        return
    sockets = tmp_path / "run-plugins"
    with PluginProcess("volume_dir", str(sockets / "dirvol.sock"), "--root", str(tmp_path / "plugin")):
        system = PluginSystem(PluginConfig(Dirs(sockets=(str(sockets),), specs=()), Timing(5, 1), ()))
        yield system.volume_drivers({})["dirvol"]


def refuse(driver: VolumeDriver, options: dict[str, str]) -> None:
    driver.validate(options)
    driver.create("refused", options)  # a plugin validates its own options at Create


def test_create_mount_use_unmount_remove(driver: VolumeDriver) -> None:
    driver.validate({})
    mountpoint = driver.create("v1", {})
    assert mountpoint == driver.mountpoint("v1") and os.path.isdir(mountpoint)
    path = driver.mount("v1", {}, "container-a")
    Path(path, "data").write_bytes(b"x" * 8192)
    assert driver.usage("v1") in (-1,) or driver.usage("v1") >= 8192
    driver.unmount("v1", "container-a")
    assert Path(driver.mountpoint("v1"), "data").read_bytes() == b"x" * 8192  # data outlives a mount
    driver.remove("v1")
    assert not os.path.exists(mountpoint)


def test_unknown_options_are_refused(driver: VolumeDriver) -> None:
    with pytest.raises(errors.DockyardError, match='invalid option key: "no-such-option"'):
        refuse(driver, {"no-such-option": "1"})


def test_two_users_share_a_volume(driver: VolumeDriver) -> None:
    driver.create("v2", {})
    a = driver.mount("v2", {}, "a")
    b = driver.mount("v2", {}, "b")
    assert a == b
    driver.unmount("v2", "a")
    assert os.path.isdir(b)
    driver.unmount("v2", "b")
