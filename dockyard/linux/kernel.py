"""The kernel calls the container setup makes, as one object so tests can swap in a recording fake."""
from __future__ import annotations

import os

from . import caps, mount as _mount, namespaces, process


class Kernel:
    """Real implementation: every method is a direct kernel call (or a thin wrapper of one)."""

    def mount(self, source: str | None, target: str, fstype: str | None = None, flags: int = 0,
              data: str | None = None) -> None:
        _mount.mount(source, target, fstype, flags, data)

    def umount(self, target: str, flags: int = 0) -> None:
        _mount.umount(target, flags)

    def is_mountpoint(self, path: str) -> bool:
        return _mount.is_mountpoint(path)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        process.pivot_root(new_root, put_old)

    def mknod(self, path: str, mode: int, major: int, minor: int) -> None:
        process.mknod(path, mode, major, minor)

    def symlink(self, target: str, path: str) -> None:
        os.symlink(target, path)

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def sethostname(self, name: str) -> None:
        process.sethostname(name)

    def unshare(self, flags: int) -> None:
        namespaces.unshare(flags)

    def setns_path(self, path: str, nstype: int = 0) -> None:
        namespaces.setns_path(path, nstype)

    def setns_fd(self, fd: int, nstype: int = 0) -> None:
        namespaces.setns(fd, nstype)

    def link_up(self, name: str) -> None:
        process.link_up(name)

    def bounding_set(self) -> int:
        return caps.bounding_set()


class RecordingKernel(Kernel):
    """Records every call instead of making it; file-system side effects (mkdir, touch) still happen in tests' tmp dirs."""

    def __init__(self, bounding: int = (1 << 41) - 1 & ~(1 << 24)) -> None:
        self.calls: list[tuple[object, ...]] = []
        self._bounding = bounding
        self.mounted: list[str] = []  # targets mounted and not yet unmounted, as is_mountpoint answers

    def mount(self, source: str | None, target: str, fstype: str | None = None, flags: int = 0,
              data: str | None = None) -> None:
        self.calls.append(("mount", source, target, fstype, flags, data))
        self.mounted.append(target)

    def umount(self, target: str, flags: int = 0) -> None:
        self.calls.append(("umount", target, flags))
        if target in self.mounted:
            self.mounted.remove(target)

    def is_mountpoint(self, path: str) -> bool:
        return path in self.mounted

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self.calls.append(("pivot_root", new_root, put_old))

    def mknod(self, path: str, mode: int, major: int, minor: int) -> None:
        self.calls.append(("mknod", path, mode, major, minor))

    def symlink(self, target: str, path: str) -> None:
        self.calls.append(("symlink", target, path))

    def chdir(self, path: str) -> None:
        self.calls.append(("chdir", path))

    def sethostname(self, name: str) -> None:
        self.calls.append(("sethostname", name))

    def unshare(self, flags: int) -> None:
        self.calls.append(("unshare", flags))

    def setns_path(self, path: str, nstype: int = 0) -> None:
        self.calls.append(("setns", path, nstype))

    def setns_fd(self, fd: int, nstype: int = 0) -> None:
        self.calls.append(("setns_fd", fd, nstype))

    def link_up(self, name: str) -> None:
        self.calls.append(("link_up", name))

    def bounding_set(self) -> int:
        return self._bounding
