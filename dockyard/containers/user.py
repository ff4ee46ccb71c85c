"""Resolve a container's `User` ("name", "uid", "name:group", "uid:gid") against its own /etc files.

The files come from the image, so their paths are resolved inside the rootfs: a symlinked
/etc/passwd must never make the daemon read a file of the host.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from ..errors import InvalidParameter
from ..runtime.rootfs import secure_join


@dataclass
class User:
    uid: int
    gid: int
    additional_gids: list[int]
    home: str


def scoped_path(root: str, path: str) -> str:
    """Resolve `path` as if `root` were /: symlinks, absolute or relative, never leave root."""
    try:
        return secure_join(root, path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InvalidParameter(f"too many levels of symbolic links in {path}") from None
        raise


MAX_DB_BYTES = 4 << 20


def _read_db(root: str, name: str) -> list[list[str]]:
    # The file comes from the image: it may be a FIFO or a device, so never block or read forever.
    try:
        fd = os.open(scoped_path(root, f"/etc/{name}"), os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    except OSError as e:
        raise InvalidParameter(f"unable to read /etc/{name} of the container: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InvalidParameter(f"/etc/{name} of the container is not a regular file")
        text = f.read(MAX_DB_BYTES).decode("utf-8", "replace")
    return [line.split(":") for line in text.splitlines() if line.strip() and not line.startswith("#")]


def resolve(root: str, spec: str) -> User:
    spec = spec or "0"
    user_part, _, group_part = spec.partition(":")
    passwd = _read_db(root, "passwd")
    groups = _read_db(root, "group")

    entry = next((e for e in passwd if len(e) >= 7 and (e[0] == user_part or e[2] == user_part)), None)
    if entry is not None:
        uid, gid, home = int(entry[2]), int(entry[3]), entry[5] or "/"
    elif user_part.isdigit():
        uid, gid, home = int(user_part), 0, "/"
    else:
        raise InvalidParameter(
            f"unable to find user {user_part}: no matching entries in passwd file")

    if group_part:
        g = next((e for e in groups if len(e) >= 3 and (e[0] == group_part or e[2] == group_part)), None)
        if g is not None:
            gid = int(g[2])
        elif group_part.isdigit():
            gid = int(group_part)
        else:
            raise InvalidParameter(
                f"unable to find group {group_part}: no matching entries in group file")
    name = entry[0] if entry else None
    extra = sorted({int(g[2]) for g in groups
                    if name and len(g) >= 4 and name in g[3].split(",") and g[2].isdigit()} - {gid})
    return User(uid=uid, gid=gid, additional_gids=extra, home=home)


def resolve_groups(root: str, names: list[str]) -> list[int]:
    """--group-add: gids, or names from the container's /etc/group."""
    if not names:
        return []
    groups = _read_db(root, "group")
    gids = []
    for name in names:
        g = next((e for e in groups if len(e) >= 3 and e[0] == str(name)), None)
        if g is not None and g[2].isdigit():
            gids.append(int(g[2]))
        elif str(name).isdigit():
            gids.append(int(name))
        else:
            raise InvalidParameter(f"Unable to find group {name}: no matching entries in group file")
    return gids
