"""COPY and ADD: source resolution (context, stage or image, URL), the content hash the cache keys on,
and the copy into a step's root filesystem, with Docker 20.10's destination rules.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass

from ..containers.user import resolve as resolve_user
from ..errors import DockyardError
from ..runtime.rootfs import secure_join
from ..snapshots import extract as extractor
from ..snapshots.limits import DEFAULT as DEFAULT_LIMITS, UnpackLimits
from .metadata import StepError

_CHUNK = 1 << 20
_WILDCARD = set("*?[")


@dataclass
class Item:
    host: str          # where the source is on the host
    name: str          # its base name (for `COPY file dir/`)
    is_dir: bool
    archive_ok: bool = True  # ADD may unpack it (local files, not URLs)


def _forbidden(src: str, root_name: str = "/ctx") -> bool:
    full = posixpath.normpath(posixpath.join(root_name, src.lstrip("/")))
    return full != root_name and not full.startswith(root_name + "/")


def resolve_sources(root: str, srcs: list[str], cmd: str, from_context: bool) -> list[Item]:
    """The items the sources name inside `root` (the context dir or a stage's rootfs)."""
    items: list[Item] = []
    for src in srcs:
        if from_context and _forbidden(src):
            raise StepError(f"{cmd} failed: forbidden path outside the build context: {src} ()")
        rel = posixpath.normpath("/" + src).lstrip("/")
        if _WILDCARD & set(rel):
            matches = _glob(root, rel)
            if not matches:
                raise StepError(f"{cmd} failed: no source files were specified")
            items += matches
            continue
        try:
            host = secure_join(root, "/" + rel) if rel else root
            st = os.stat(host)
        except OSError:  # missing, or a loop of links
            where = "build context or excluded by .dockerignore" if from_context else "source image"
            raise StepError(f"{cmd} failed: file not found in {where}: stat {src}: file does not exist") \
                from None
        items.append(Item(host, posixpath.basename(rel) or "", stat.S_ISDIR(st.st_mode)))
    return items


def _glob(root: str, pattern: str) -> list[Item]:
    found = [("", root)]
    for part in pattern.split("/"):
        nxt = []
        for rel, host in found:
            if not os.path.isdir(host):
                continue
            for name in sorted(os.listdir(host)):
                if fnmatch.fnmatchcase(name, part):
                    nxt.append((f"{rel}/{name}" if rel else name, secure_join(root, f"/{rel}/{name}")))
        found = nxt
    return [Item(host, posixpath.basename(rel), os.path.isdir(host)) for rel, host in found
            if os.path.lexists(host)]


def source_hash(items: list[Item]) -> str:
    """Content and metadata (mode, link target, names), never mtimes: Docker's `file:`/`dir:`/`multi:`."""
    digests = []
    for item in items:
        h = hashlib.sha256()
        if item.is_dir:
            for rel, full, st in _walk(item.host):
                _hash_entry(h, rel, full, st)
        else:
            _hash_entry(h, "", item.host, os.stat(item.host))
        digests.append(h.hexdigest())
    if len(items) == 1:
        return ("dir:" if items[0].is_dir else "file:") + digests[0]
    return "multi:" + hashlib.sha256("".join(digests).encode()).hexdigest()


def _hash_entry(h: "hashlib._Hash", rel: str, full: str, st: os.stat_result) -> None:
    h.update(f"{rel}\0{stat.S_IFMT(st.st_mode)}\0{stat.S_IMODE(st.st_mode)}\0".encode())
    if stat.S_ISLNK(st.st_mode):
        h.update(os.readlink(full).encode() + b"\0")
    elif stat.S_ISREG(st.st_mode):
        h.update(f"{st.st_size}\0".encode())
        with open(full, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)


def _walk(top: str, rel: str = ""):
    """(relative name, host path, lstat) of everything under `top`, sorted, links not followed."""
    with os.scandir(os.path.join(top, rel) if rel else top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        name = f"{rel}/{e.name}" if rel else e.name
        st = e.stat(follow_symlinks=False)
        yield name, e.path, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(top, name)


@dataclass
class Target:
    root: str                  # the step's mounted rootfs
    dest: str                  # absolute destination inside it, as written (a trailing / kept)
    owner: tuple[int, int]
    mode: int | None           # --chmod
    limits: UnpackLimits = DEFAULT_LIMITS  # what ADD of a local archive may unpack to


def chown_ids(root: str, spec: str) -> tuple[int, int]:
    if not spec:
        return 0, 0
    user, _, group = spec.partition(":")
    group = group or user
    if user.isdigit() and group.isdigit():
        return int(user), int(group)
    try:
        u = resolve_user(root, f"{user}:{group}")
    except DockyardError as e:
        raise StepError(f"unable to convert uid/gid chown string to host mapping: {e.message}") from None
    return u.uid, u.gid


def parse_chmod(value: str | None) -> int | None:
    if not value:
        return None
    try:
        mode = int(value, 8)
    except ValueError:
        raise StepError(f"invalid chmod parameter: {value}") from None
    if mode > 0o7777:
        raise StepError(f"invalid chmod parameter: {value}")
    return mode


def copy_items(items: list[Item], t: Target, cmd: str, unpack: bool) -> None:
    """Copy into the rootfs; writes never leave it (every parent resolved with secure_join)."""
    wants_dir = t.dest.endswith("/") or t.dest.endswith("/.")
    if len(items) > 1 and not wants_dir:
        raise StepError(f"When using {cmd} with more than one source file, the destination must be "
                        "a directory and end with a /")
    dest = posixpath.normpath(t.dest)
    for item in items:
        if item.is_dir:
            _copy_tree(item.host, _mkdirs(t, dest), t)
        elif unpack and item.archive_ok and _is_archive(item.host):
            _unpack(item.host, _mkdirs(t, dest), t)
        else:
            host_dest = secure_join(t.root, dest)
            if wants_dir or os.path.isdir(host_dest):
                _copy_file(item.host, os.path.join(_mkdirs(t, dest), item.name), t)
            else:
                parent = _mkdirs(t, posixpath.dirname(dest) or "/")
                _copy_file(item.host, os.path.join(parent, posixpath.basename(dest)), t)


def _mkdirs(t: Target, path: str) -> str:
    """Create `path` (and parents) inside the rootfs as the copy's owner; returns the host dir."""
    current = "/"
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part)
        host = secure_join(t.root, current)
        if not os.path.lexists(host):
            os.mkdir(host, 0o755)
            os.chown(host, *t.owner)
        elif not os.path.isdir(host):
            raise StepError(f"failed to copy files: mkdir {current}: not a directory")
    return secure_join(t.root, path)


def _replace(target: str) -> None:
    if os.path.lexists(target) and not (os.path.isdir(target) and not os.path.islink(target)):
        os.unlink(target)


def _copy_file(src: str, target: str, t: Target, st: os.stat_result | None = None) -> None:
    st = st or os.lstat(src)
    if os.path.isdir(target) and not os.path.islink(target):
        raise StepError(f"cannot overwrite directory {target[len(t.root):] or '/'} with non-directory")
    _replace(target)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), target)
        os.lchown(target, *t.owner)
        return
    if not stat.S_ISREG(st.st_mode):
        st = os.stat(src)  # a link named as a source is followed, as Docker does
        if not stat.S_ISREG(st.st_mode):
            return  # devices, fifos, sockets are not copied
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as out, open(src, "rb") as f:
        shutil.copyfileobj(f, out, _CHUNK)
    os.chown(target, *t.owner)
    os.chmod(target, t.mode if t.mode is not None else stat.S_IMODE(st.st_mode))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_tree(src: str, dest_host: str, t: Target) -> None:
    for rel, full, st in _walk(src):
        target = os.path.join(dest_host, rel)
        if stat.S_ISDIR(st.st_mode):
            if os.path.lexists(target) and not os.path.isdir(target):
                os.unlink(target)
            if not os.path.lexists(target):
                os.mkdir(target)
            os.chown(target, *t.owner)
            os.chmod(target, t.mode if t.mode is not None else stat.S_IMODE(st.st_mode))
        else:
            _copy_file(full, target, t, st)
    for rel, full, st in _walk(src):  # directory mtimes last: writing into them moved them
        if stat.S_ISDIR(st.st_mode):
            os.utime(os.path.join(dest_host, rel), ns=(st.st_atime_ns, st.st_mtime_ns))


def _is_archive(path: str) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _unpack(path: str, dest_host: str, t: Target) -> None:
    with open(path, "rb") as f:
        try:
            extractor.extract(f, dest_host, owner=t.owner if t.owner != (0, 0) else None, limits=t.limits)
        except DockyardError as e:
            raise StepError(f"ADD failed: {e.message}") from None
