"""Write a directory tree as a tar stream: container export, and layer diffs with Docker whiteouts."""
from __future__ import annotations

import os
import stat
import tarfile
from typing import BinaryIO

from .apply import OPAQUE, OPAQUE_XATTR, WHITEOUT_PREFIX

_CHUNK = 1 << 20
_XATTRS = ("security.capability",)  # the xattrs images carry; others are host artefacts


def write_tree(root: str, out: BinaryIO, overlay_whiteouts: bool = False) -> None:
    """Stream `root` as a tar to `out`, sorted by name, hardlinks kept.

    With `overlay_whiteouts`, overlay's whiteout devices (char 0/0) become `.wh.NAME`
    entries and opaque directories get a `.wh..wh..opq` entry: the upper dir becomes a
    Docker layer diff.
    """
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tf:
        _Walker(tf, root, overlay_whiteouts).walk("")


class _Walker:
    def __init__(self, tf: tarfile.TarFile, root: str, whiteouts: bool) -> None:
        self.tf = tf
        self.root = root
        self.whiteouts = whiteouts
        self.inodes: dict[tuple[int, int], str] = {}

    def walk(self, rel: str) -> None:
        full = os.path.join(self.root, rel) if rel else self.root
        with os.scandir(full) as it:
            names = sorted(e.name for e in it)
        for name in names:
            child = f"{rel}/{name}" if rel else name
            path = os.path.join(self.root, child)
            st = os.lstat(path)
            if self.whiteouts and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                wh = tarfile.TarInfo(f"{rel}/{WHITEOUT_PREFIX}{name}" if rel else WHITEOUT_PREFIX + name)
                wh.mtime = int(st.st_mtime)
                self.tf.addfile(wh)
                continue
            self._add(child, path, st)
            if stat.S_ISDIR(st.st_mode):
                if self.whiteouts and _opaque(path):
                    wh = tarfile.TarInfo(f"{child}/{OPAQUE}")
                    wh.mtime = int(st.st_mtime)
                    self.tf.addfile(wh)
                self.walk(child)

    def _add(self, rel: str, path: str, st: os.stat_result) -> None:
        ti = tarfile.TarInfo(rel)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.uname = ti.gname = ""  # host user names mean nothing inside the image
        ti.mtime = int(st.st_mtime)
        mode = st.st_mode
        key = (st.st_dev, st.st_ino)
        if not stat.S_ISDIR(mode) and st.st_nlink > 1 and key in self.inodes:
            ti.type = tarfile.LNKTYPE
            ti.linkname = self.inodes[key]
            self.tf.addfile(ti)
            return
        if st.st_nlink > 1 and not stat.S_ISDIR(mode):
            self.inodes[key] = rel
        for name in _XATTRS:
            try:
                value = os.getxattr(path, name, follow_symlinks=False)
            except OSError:
                continue
            ti.pax_headers["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
        if stat.S_ISREG(mode):
            ti.size = st.st_size
            with open(path, "rb") as f:
                self.tf.addfile(ti, f)
            return
        if stat.S_ISDIR(mode):
            ti.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            ti.type = tarfile.SYMTYPE
            ti.linkname = os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            ti.type = tarfile.FIFOTYPE
        else:
            return  # sockets cannot be archived
        self.tf.addfile(ti)


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False
