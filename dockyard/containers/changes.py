"""`docker diff`: what the container changed, read from its overlay upper dir (0 modified, 1 added, 2 deleted)."""
from __future__ import annotations

import os
import stat

MODIFIED, ADDED, DELETED = 0, 1, 2


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _in_lower(lowers: list[str], rel: str) -> bool:
    return any(os.path.lexists(os.path.join(d, rel)) for d in lowers)


def changes(upper: str, lowers: list[str]) -> list[dict[str, object]]:
    """Docker's `GET /containers/{id}/changes` list, sorted by path. Never follows a symlink."""
    out: list[dict[str, object]] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        rel_dir = os.path.relpath(dirpath, upper)
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(full)
            if _is_whiteout(st):
                out.append({"Path": "/" + rel, "Kind": DELETED})
            elif name.startswith(".wh."):
                continue
            elif _in_lower(lowers, rel):
                # a directory only on the path to a change is reported as modified too, like Docker
                out.append({"Path": "/" + rel, "Kind": MODIFIED})
            else:
                out.append({"Path": "/" + rel, "Kind": ADDED})
    # The files the engine itself bind-mounts (Docker keeps them in an init layer) are not changes,
    # nor is a directory that only holds them.
    out = [c for c in out if c["Path"] not in ENGINE_FILES]
    paths = [str(c["Path"]) for c in out]
    out = [c for c in out if c["Kind"] != MODIFIED or not os.path.isdir(os.path.join(upper, str(c["Path"])[1:]))
           or any(p.startswith(str(c["Path"]) + "/") for p in paths)
           or _own_change(upper, lowers, str(c["Path"])[1:])]
    out.sort(key=lambda c: str(c["Path"]))
    return out


ENGINE_FILES = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}


def _own_change(upper: str, lowers: list[str], rel: str) -> bool:
    """A directory copied up only for the engine's files has the lower's mode and owner."""
    up = os.lstat(os.path.join(upper, rel))
    for d in lowers:
        try:
            lo = os.lstat(os.path.join(d, rel))
        except FileNotFoundError:
            continue
        return (up.st_mode, up.st_uid, up.st_gid) != (lo.st_mode, lo.st_uid, lo.st_gid)
    return True
