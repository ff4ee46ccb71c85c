"""`docker diff`: what the container changed, read from its overlay upper dir (0 modified, 1 added, 2 deleted)."""
from __future__ import annotations

import os
import stat

from ..linux import fstree

MODIFIED, ADDED, DELETED = 0, 1, 2


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:  # gone, or deeper than PATH_MAX: not there for this purpose
        return None


def _in_lower(lowers: list[str], rel: str) -> bool:
    return any(_lstat(os.path.join(d, rel)) is not None for d in lowers)


def changes(upper: str, lowers: list[str]) -> list[dict[str, object]]:
    """Docker's `GET /containers/{id}/changes` list, sorted by path. Never follows a symlink."""
    out: list[dict[str, object]] = []
    dirs: dict[str, os.stat_result] = {}
    for e in fstree.walk(upper):
        path = "/" + e.rel
        if _is_whiteout(e.st):
            out.append({"Path": path, "Kind": DELETED})
            continue
        if e.name.startswith(".wh."):
            continue
        if stat.S_ISDIR(e.st.st_mode):
            dirs[path] = e.st
        # a directory only on the path to a change is reported as modified too, like Docker
        out.append({"Path": path, "Kind": MODIFIED if _in_lower(lowers, e.rel) else ADDED})
    # The files the engine itself bind-mounts (Docker keeps them in an init layer) are not changes,
    # nor is a directory that only holds them.
    out = [c for c in out if c["Path"] not in ENGINE_FILES]
    parents = {p.rsplit("/", 1)[0] for p in (str(c["Path"]) for c in out)}
    out = [c for c in out if c["Kind"] != MODIFIED or c["Path"] not in dirs or c["Path"] in parents
           or _own_change(dirs[str(c["Path"])], lowers, str(c["Path"])[1:])]
    out.sort(key=lambda c: str(c["Path"]))
    return out


ENGINE_FILES = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}


def _own_change(up: os.stat_result, lowers: list[str], rel: str) -> bool:
    """A directory copied up only for the engine's files has the lower's mode and owner."""
    for d in lowers:
        lo = _lstat(os.path.join(d, rel))
        if lo is None:
            continue
        return (up.st_mode, up.st_uid, up.st_gid) != (lo.st_mode, lo.st_uid, lo.st_gid)
    return True
