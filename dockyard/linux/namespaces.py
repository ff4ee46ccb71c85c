"""Linux namespaces: unshare(2), setns(2) and the OCI namespace-type names."""
from __future__ import annotations

import ctypes
import os

from .libc import check, libc

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# OCI `linux.namespaces[].type` -> clone flag.
OCI_TYPES: dict[str, int] = {
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "mount": CLONE_NEWNS,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "user": CLONE_NEWUSER,
    "cgroup": CLONE_NEWCGROUP,
}

# /proc/<pid>/ns/<name> for each OCI type.
PROC_NAMES: dict[str, str] = {
    "pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc",
    "uts": "uts", "user": "user", "cgroup": "cgroup",
}

_libc = libc()
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


def unshare(flags: int) -> None:
    check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    check(_libc.setns(fd, nstype), "setns")


def setns_path(path: str, nstype: int = 0) -> None:
    """Join the namespace bound at `path` (e.g. /proc/123/ns/net or a bind-mounted nsfs file)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            setns(fd, nstype)
        except OSError as e:
            raise OSError(e.errno, f"setns {path}: {os.strerror(e.errno or 0)}", path) from None
    finally:
        os.close(fd)
