"""Write a directory tree as a tar stream: container export, and layer diffs with Docker whiteouts."""
from __future__ import annotations

import os
import stat
import tarfile
from typing import BinaryIO

from ..linux import fstree
from .apply import OPAQUE, OPAQUE_XATTR, WHITEOUT_PREFIX

_CHUNK = 1 << 20
_XATTRS = ("security.capability",)  # the xattrs images carry; others are host artefacts


def write_tree(root: str, out: BinaryIO, overlay_whiteouts: bool = False, top: str | None = None) -> None:
    """Stream `root` as a tar to `out`, sorted by name, hardlinks kept, at any depth.

    With `overlay_whiteouts`, overlay's whiteout devices (char 0/0) become `.wh.NAME`
    entries and opaque directories get a `.wh..wh..opq` entry: the upper dir becomes a
    Docker layer diff. With `top`, `root` itself is the first entry, named `top`, and every
    other name is beneath it (docker cp's archive of a directory).
    """
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tf:
        w = _Writer(tf, overlay_whiteouts)
        if top is not None:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                w.add(fstree.Entry(top, ".", os.fstat(fd), fd))
            finally:
                os.close(fd)
        for e in fstree.walk(root):
            if top is not None:
                e.rel = f"{top}/{e.rel}"
            w.add(e)


class _Writer:
    def __init__(self, tf: tarfile.TarFile, whiteouts: bool) -> None:
        self.tf = tf
        self.whiteouts = whiteouts
        self.inodes: dict[tuple[int, int], str] = {}

    def add(self, e: fstree.Entry) -> None:
        st = e.st
        if self.whiteouts and stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            head, _, name = e.rel.rpartition("/")
            wh = tarfile.TarInfo(f"{head}/{WHITEOUT_PREFIX}{name}" if head else WHITEOUT_PREFIX + name)
            wh.mtime = int(st.st_mtime)
            self.tf.addfile(wh)
            return
        self._add(e)
        if stat.S_ISDIR(st.st_mode) and self.whiteouts and _opaque(e.proc_path):
            wh = tarfile.TarInfo(f"{e.rel}/{OPAQUE}")
            wh.mtime = int(st.st_mtime)
            self.tf.addfile(wh)

    def _add(self, e: fstree.Entry) -> None:
        rel, st = e.rel, e.st
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
        xattrs: dict[str, str] = {}
        for name in _XATTRS:
            try:
                value = os.getxattr(e.proc_path, name, follow_symlinks=False)
            except OSError:
                continue
            xattrs["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
        if xattrs:
            ti.pax_headers = xattrs
        if stat.S_ISREG(mode):
            ti.size = st.st_size
            with e.open() as f:
                self.tf.addfile(ti, f)
            return
        if stat.S_ISDIR(mode):
            ti.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            ti.type = tarfile.SYMTYPE
            ti.linkname = e.readlink()
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
