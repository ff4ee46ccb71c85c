"""Perform the mounts that snapshotters describe, through dockyard.linux.mount."""
from __future__ import annotations

import errno
import os

from ..linux import mount as sysmount
from .driver import Mount

# Page size minus room for the kernel's own bookkeeping: overlay options must fit in a page.
MAX_OPTIONS = os.sysconf("SC_PAGESIZE") - 1


def options_string(m: Mount) -> str:
    return ",".join(m.options)


def mount(m: Mount, target: str) -> None:
    """Mount `m` on `target` unless something is mounted there already (idempotent)."""
    os.makedirs(target, exist_ok=True)
    if sysmount.is_mountpoint(os.path.realpath(target)):
        return
    if m.type == "overlay":
        data = options_string(m)
        if len(data) > MAX_OPTIONS:
            from ..errors import SystemFailure
            raise SystemFailure(f"overlay mount options too long ({len(data)} bytes): too many layers")
        sysmount.mount("overlay", target, "overlay", 0, data)
    elif m.type == "bind":
        flags = sysmount.MS_BIND | sysmount.MS_REC
        sysmount.mount(m.source, target, None, flags, None)
        if "ro" in m.options:
            sysmount.mount(None, target, None, flags | sysmount.MS_REMOUNT | sysmount.MS_RDONLY, None)
    else:
        raise ValueError(f"unknown mount type {m.type}")


def unmount(target: str) -> None:
    """Unmount `target` if it is mounted; fall back to a lazy unmount when busy (idempotent)."""
    real = os.path.realpath(target)
    if not os.path.exists(real) or not sysmount.is_mountpoint(real):
        return
    try:
        sysmount.umount(real)
    except OSError as e:
        if e.errno == errno.EBUSY:
            sysmount.umount(real, sysmount.MNT_DETACH)
        elif e.errno not in (errno.EINVAL, errno.ENOENT):
            raise
