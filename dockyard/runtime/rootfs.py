"""The container's file-system view: OCI `mounts`, /dev, pivot_root, readonly and masked paths."""
from __future__ import annotations

import errno
import os
import stat
from typing import Any

from ..linux.kernel import Kernel
from ..linux.mount import (MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY,
                           MS_REC, MS_REMOUNT, MS_SHARED, MS_SLAVE, MS_STRICTATIME)

MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_RELATIME = 1 << 21
MS_SYNCHRONOUS = 16
MS_UNBINDABLE = 1 << 17

# option -> (set flags, clear flags)
_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY), "nosuid": (MS_NOSUID, 0), "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV), "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC),
    "bind": (MS_BIND, 0), "rbind": (MS_BIND | MS_REC, 0), "sync": (MS_SYNCHRONOUS, 0),
    "async": (0, MS_SYNCHRONOUS), "dirsync": (MS_DIRSYNC, 0), "remount": (MS_REMOUNT, 0),
    "mand": (MS_MANDLOCK, 0), "nomand": (0, MS_MANDLOCK), "atime": (0, MS_NOATIME),
    "noatime": (MS_NOATIME, 0), "diratime": (0, MS_NODIRATIME), "nodiratime": (MS_NODIRATIME, 0),
    "relatime": (MS_RELATIME, 0), "norelatime": (0, MS_RELATIME), "strictatime": (MS_STRICTATIME, 0),
    "nostrictatime": (0, MS_STRICTATIME), "defaults": (0, 0),
}
_PROPAGATION: dict[str, int] = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC, "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC, "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}

# (name, major, minor): what every container's /dev gets, like runc's defaults.
DEFAULT_DEVICES = [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                   ("urandom", 1, 9), ("tty", 5, 0)]
DEV_SYMLINKS = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
                ("/proc/self/fd/2", "stderr"), ("pts/ptmx", "ptmx")]


def parse_options(options: list[str]) -> tuple[int, int, str]:
    """OCI mount options -> (flags, propagation flags, fs data string)."""
    flags, prop, data = 0, 0, []
    for opt in options:
        if opt in _FLAGS:
            on, off = _FLAGS[opt]
            flags = (flags | on) & ~off
        elif opt in _PROPAGATION:
            prop |= _PROPAGATION[opt]
        else:
            data.append(opt)
    return flags, prop, ",".join(data)


def secure_join(root: str, path: str) -> str:
    """`path` inside `root`, resolving symlinks as if `root` were / so nothing escapes it."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        p = parts.pop(0)
        if p == "..":
            if resolved:
                resolved.pop()
            continue
        full = os.path.join(root, *resolved, p)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            resolved.append(p)
            continue
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > 40:
                raise OSError(errno.ELOOP, "too many symlinks", path)
            target = os.readlink(full)
            if target.startswith("/"):
                resolved = []
            parts = [x for x in target.split("/") if x not in ("", ".")] + parts
        else:
            resolved.append(p)
    return os.path.join(root, *resolved)


def _ensure(dest: str, is_file: bool) -> None:
    if os.path.lexists(dest):
        return
    if is_file:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    else:
        os.makedirs(dest, exist_ok=True)


def mount_one(k: Kernel, rootfs: str, m: dict[str, Any], v2_host: bool, new_netns: bool) -> None:
    dest = secure_join(rootfs, m["destination"])
    kind = m.get("type") or ""
    source = m.get("source") or kind or "none"
    flags, prop, data = parse_options(m.get("options") or [])
    if kind == "bind" or flags & MS_BIND:
        _ensure(dest, not os.path.isdir(source))
        k.mount(source, dest, None, MS_BIND | (flags & MS_REC))
        # Flags on a bind apply only through a remount.
        extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT)
        if extra:
            k.mount(None, dest, None, MS_BIND | MS_REMOUNT | extra)
    elif kind == "cgroup":
        # v1 hosts would need runc's per-hierarchy bind tree; give an empty read-only tmpfs instead.
        os.makedirs(dest, exist_ok=True)
        if v2_host:
            k.mount("cgroup", dest, "cgroup2", flags)
        else:
            k.mount("tmpfs", dest, "tmpfs", flags | MS_RDONLY, "mode=755")
    else:
        os.makedirs(dest, exist_ok=True)
        try:
            k.mount(source, dest, kind, flags, data or None)
        except PermissionError:
            if kind != "sysfs" or new_netns:
                raise
            # Without its own net namespace sysfs cannot be mounted fresh: bind the host's, read-only.
            k.mount("/sys", dest, None, MS_BIND | MS_REC)
            k.mount(None, dest, None, MS_BIND | MS_REMOUNT | MS_RDONLY | (flags & ~MS_RDONLY))
    if prop:
        k.mount(None, dest, None, prop)


def make_devices(k: Kernel, rootfs: str, devices: list[dict[str, Any]]) -> None:
    dev = secure_join(rootfs, "/dev")
    nodes = [(f"/dev/{n}", "c", ma, mi, 0o666, 0, 0) for n, ma, mi in DEFAULT_DEVICES]
    nodes += [(d["path"], d.get("type", "c"), d.get("major", 0), d.get("minor", 0),
               d.get("fileMode", 0o666), d.get("uid", 0), d.get("gid", 0)) for d in devices]
    for path, typ, major, minor, mode, uid, gid in nodes:
        dest = secure_join(rootfs, path)
        if os.path.lexists(dest):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        kind = stat.S_IFBLK if typ == "b" else stat.S_IFIFO if typ == "p" else stat.S_IFCHR
        try:
            k.mknod(dest, kind | (mode & 0o7777), major, minor)
            if uid or gid:
                os.chown(dest, uid, gid)
        except PermissionError:
            # mknod is refused in a user namespace: bind the host's node instead.
            _ensure(dest, True)
            k.mount(path, dest, None, MS_BIND)
    for target, name in DEV_SYMLINKS:
        link = os.path.join(dev, name)
        if not os.path.lexists(link):
            k.symlink(target, link)
    if os.path.exists("/proc/kcore") and not os.path.lexists(os.path.join(dev, "core")):
        k.symlink("/proc/kcore", os.path.join(dev, "core"))


def setup(k: Kernel, spec: dict[str, Any], rootfs: str, v2_host: bool, new_netns: bool) -> None:
    """Everything up to and including pivot_root, run in the container's new mount namespace."""
    linux = spec.get("linux") or {}
    prop = _PROPAGATION.get(linux.get("rootfsPropagation") or "rprivate", MS_PRIVATE | MS_REC)
    # Keep our mounts from leaking into the host (and the host's from reaching us).
    k.mount(None, "/", None, MS_REC | (MS_SLAVE if prop & MS_SHARED else prop))
    k.mount(rootfs, rootfs, None, MS_BIND | MS_REC)
    dev_is_tmpfs = False
    for m in spec.get("mounts") or []:
        mount_one(k, rootfs, m, v2_host, new_netns)
        if m["destination"].rstrip("/") == "/dev" and m.get("type") != "bind":
            dev_is_tmpfs = True
    if dev_is_tmpfs:
        make_devices(k, rootfs, linux.get("devices") or [])
    # pivot_root(".", "."): the old root ends up stacked on "/", then is lazily detached.
    k.chdir(rootfs)
    k.pivot_root(".", ".")
    k.mount(None, ".", None, MS_SLAVE | MS_REC)
    k.umount(".", MNT_DETACH)
    k.chdir("/")


def finish(k: Kernel, spec: dict[str, Any]) -> None:
    """After pivot_root: masked and read-only paths, then a read-only root if asked."""
    linux = spec.get("linux") or {}
    for path in linux.get("maskedPaths") or []:
        if not os.path.lexists(path):
            continue
        if os.path.isdir(path):
            k.mount("tmpfs", path, "tmpfs", MS_RDONLY)
        else:
            k.mount("/dev/null", path, None, MS_BIND)
    for path in linux.get("readonlyPaths") or []:
        if not os.path.lexists(path):
            continue
        k.mount(path, path, None, MS_BIND | MS_REC)
        keep = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        k.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep)
    if (spec.get("root") or {}).get("readonly"):
        keep = os.statvfs("/").f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        k.mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | keep)
