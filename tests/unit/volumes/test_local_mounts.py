"""The local driver's mounts go through the Kernel seam: the recording fake sees each one (no root)."""
from __future__ import annotations

import errno

import pytest

from dockyard import errors
from dockyard.linux.kernel import RecordingKernel
from dockyard.linux.mount import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, parse_options
from dockyard.volumes.local import LocalDriver


@pytest.fixture
def kernel() -> RecordingKernel:
    return RecordingKernel()


@pytest.fixture
def driver(tmp_path, kernel) -> LocalDriver:
    return LocalDriver(str(tmp_path / "volumes"), kernel)


def test_tmpfs_volume_is_one_mount_with_flags_split_from_data(driver, kernel) -> None:
    opts = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,uid=1000,nosuid,nodev,ro"}
    driver.create("v", opts)
    path = driver.mount("v", opts, "c1")
    driver.mount("v", opts, "c2")  # a second user shares the one mount
    assert kernel.calls == [("mount", "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=1m,uid=1000")]
    driver.unmount("v", "c1")
    assert len(kernel.calls) == 1  # still used by c2
    driver.unmount("v", "c2")
    assert kernel.calls[-1] == ("umount", path, 0)


def test_bind_volume_mounts_with_ms_bind(driver, kernel, tmp_path) -> None:
    opts = {"type": "none", "device": str(tmp_path), "o": "bind"}
    path = driver.mount("b", opts, "c1")
    assert kernel.calls == [("mount", str(tmp_path), path, "none", MS_BIND, None)]


def test_remove_unmounts_a_volume_left_mounted(driver, kernel) -> None:
    opts = {"type": "tmpfs", "device": "tmpfs"}
    path = driver.mount("v", opts, "c1")
    driver.adopt("v", "c1")
    driver.unmount("v", "c1")
    assert not kernel.is_mountpoint(path)
    kernel.mount("tmpfs", path, "tmpfs")  # mounted behind the driver's back
    driver.remove("v")
    assert kernel.calls[-1] == ("umount", path, 0)


def test_mount_failure_is_dockers_message_and_nothing_recorded_mounted(driver, tmp_path) -> None:
    class Failing(RecordingKernel):
        def mount(self, *args, **kw) -> None:
            raise OSError(errno.ENODEV, "mount: No such device", args[1])
    d = LocalDriver(str(tmp_path / "vols"), Failing())
    with pytest.raises(errors.SystemFailure, match=r"failed to mount local volume: mount nope:.*flags: 0x0, "
                                                 r"data: size=1m: no such device"):
        d.mount("v", {"type": "bogusfs", "device": "nope", "o": "size=1m"}, "c1")


@pytest.mark.parametrize("words,flags,data", [
    (["ro", "noexec"], MS_RDONLY | MS_NOEXEC, ""),
    (["ro", "rw"], 0, ""),                      # later words win, as in mount(8)
    (["rbind", "size=1"], MS_BIND | MS_REC, "size=1"),
    (["defaults", "mode=1777", "uid=0"], 0, "mode=1777,uid=0"),
])
def test_parse_options(words, flags, data) -> None:
    assert parse_options(words) == (flags, data)
