"""The archive API's filesystem side: stat, tar out and extract in, inside a container's rootfs only."""
from __future__ import annotations

import base64
import errno
import json
import os
import posixpath
import stat
import tarfile
from typing import Any, BinaryIO

from ..errors import InvalidParameter, NotFound
from ..runtime.rootfs import secure_join
from ..snapshots import extract as extractor
from ..snapshots.limits import DEFAULT as DEFAULT_LIMITS, UnpackLimits
from ..snapshots.tarwrite import write_tree
from ..timefmt import rfc3339

# Go's os.FileMode type bits, which the X-Docker-Container-Path-Stat header carries
GO_DIR, GO_SYMLINK, GO_DEVICE, GO_PIPE, GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
GO_SETUID, GO_SETGID, GO_CHARDEV, GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20
_CHUNK = 1 << 20


def go_mode(mode: int) -> int:
    out = mode & 0o777
    fmt = stat.S_IFMT(mode)
    out |= {stat.S_IFDIR: GO_DIR, stat.S_IFLNK: GO_SYMLINK, stat.S_IFIFO: GO_PIPE, stat.S_IFSOCK: GO_SOCKET,
            stat.S_IFBLK: GO_DEVICE, stat.S_IFCHR: GO_DEVICE | GO_CHARDEV}.get(fmt, 0)
    if mode & stat.S_ISUID:
        out |= GO_SETUID
    if mode & stat.S_ISGID:
        out |= GO_SETGID
    if mode & stat.S_ISVTX:
        out |= GO_STICKY
    return out


def _abs(path: str) -> str:
    return posixpath.normpath("/" + path.lstrip("/"))  # normpath keeps a leading "//"


def _join(root: str, path: str) -> str:
    """secure_join, with a symlink loop on the way as the client's bad path (400), not our failure."""
    try:
        return secure_join(root, path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise InvalidParameter(f"{path}: too many levels of symbolic links") from None
        raise


def _wants_dir(path: str) -> bool:
    return path.endswith("/") or path.endswith("/.") or path == "."


def resolve(root: str, path: str) -> tuple[str, str]:
    """(host path, absolute container path) of `path`, as Docker's ResolvePath does.

    Every directory on the way is resolved inside `root` (a symlink, even an absolute one,
    never leads out); the last component is not followed unless the path ends in `/` or `/.`.
    """
    if not path:
        raise InvalidParameter("path is required")
    abs_path = _abs(path)
    if abs_path == "/":
        return root, "/"
    if _wants_dir(path):
        return _join(root, abs_path), abs_path
    parent, base = posixpath.split(abs_path)
    return os.path.join(_join(root, parent), base), abs_path


def _missing(path: str, container: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {container}")


def _lstat(host: str, path: str, container: str) -> os.stat_result:
    try:
        return os.lstat(host)
    except (FileNotFoundError, NotADirectoryError):
        raise _missing(path, container) from None


def stat_path(root: str, path: str, container: str) -> dict[str, Any]:
    """The container path's stat as Docker's types.ContainerPathStat."""
    host, abs_path = resolve(root, path)
    st = _lstat(host, path, container)
    link = ""
    if stat.S_ISLNK(st.st_mode):
        target = os.path.relpath(_join(root, abs_path), root)
        link = "/" if target == "." else "/" + target
    return {"name": posixpath.basename(abs_path) or "/", "size": st.st_size, "mode": go_mode(st.st_mode),
            "mtime": rfc3339(st.st_mtime), "linkTarget": link}


def stat_header(st: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(st).encode()).decode()


def _anonymous(ti: tarfile.TarInfo) -> tarfile.TarInfo:
    ti.uname = ti.gname = ""  # host user names mean nothing inside the container
    return ti


def write_tar(root: str, path: str, out: BinaryIO) -> None:
    """The path as a tar whose top entry is its base name (or `.` for `DIR/.`); links are not followed."""
    host, abs_path = resolve(root, path)
    st = os.lstat(host)
    name = "." if path.endswith("/.") or path == "." or abs_path == "/" else posixpath.basename(abs_path)
    if stat.S_ISDIR(st.st_mode):
        write_tree(host, out, top=name)  # iterative: a tree of any depth
        return
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tf:
        tf.add(host, arcname=name, recursive=False, filter=_anonymous)


def extraction_dir(root: str, path: str, container: str) -> str:
    """The real directory a PUT extracts into (symlinks followed, inside the rootfs)."""
    if not path:
        raise InvalidParameter("path is required")
    host = _join(root, _abs(path))
    st = _lstat(host, path, container)
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidParameter("extraction point is not a directory")
    return host


def extract(root: str, path: str, container: str, body: BinaryIO, no_overwrite_dir_non_dir: bool,
            owner: tuple[int, int] | None, limits: UnpackLimits = DEFAULT_LIMITS) -> None:
    extractor.extract(body, extraction_dir(root, path, container), no_overwrite_dir_non_dir, owner, limits)
