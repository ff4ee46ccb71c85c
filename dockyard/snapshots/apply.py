"""Apply a layer tar to a directory: path safety, Docker whiteouts, ownership, modes, mtimes."""
from __future__ import annotations

import errno
import os
import shutil
import stat
import tarfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Literal

from ..errors import InvalidParameter, SystemFailure
from ..linux import fstree
from .limits import DEFAULT, Meter, UnpackLimits
from .streams import HashReader, TeeReader, decompressed

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
WhiteoutMode = Literal["overlay", "delete", "none"]  # "none": `.wh.` names are plain files (docker cp)
_CHUNK = 1 << 20


@dataclass
class ApplyResult:
    diff_id: str      # sha256 of the uncompressed tar
    tar_size: int     # bytes of the uncompressed tar
    size: int         # bytes of regular-file content (Docker's layer size)
    media: str        # "none" | "gzip" | "zstd": how the input was compressed


def apply_layer(stream: BinaryIO | TeeReader, dest: str, whiteouts: WhiteoutMode = "overlay",
                limits: UnpackLimits = DEFAULT) -> ApplyResult:
    """Unpack a (possibly gzip) layer tar read from `stream` into `dest`, hashing it as it goes.

    Raises InvalidParameter for a corrupt tar or an entry that would escape `dest`; the
    caller owns `dest` and removes it on error (it is always a fresh temp dir or a copy).
    """
    try:
        meter = limits.meter("layer")
        plain, media = decompressed(stream, meter)
        hashed = HashReader(plain)
        applier = _Applier(dest, whiteouts, meter)
        with tarfile.open(fileobj=hashed, mode="r|", bufsize=_CHUNK) as tf:  # type: ignore[call-overload]
            for member in tf:
                applier.apply(tf, member)
        applier.finish()
        hashed.drain()  # the end-of-archive blocks are part of the diffID
        if hashed.size % tarfile.BLOCKSIZE:
            # tarfile takes a cut-off header for the end of the archive; Go's reader does not.
            raise tarfile.ReadError("unexpected EOF")
        if isinstance(stream, TeeReader):
            stream.drain()
    except (tarfile.TarError, EOFError, zlib.error, UnicodeError) as e:
        raise InvalidParameter(f"invalid tar: {e}") from None
    except OSError as e:
        if e.errno is None:  # gzip.BadGzipFile and other format errors carry no errno
            raise InvalidParameter(f"invalid tar: {e}") from None
        if e.errno == errno.ENAMETOOLONG:
            raise InvalidParameter(f"invalid tar: a path is longer than PATH_MAX: {e.strerror}") from None
        raise
    return ApplyResult(hashed.digest, hashed.size, applier.size, media)


def clean_name(name: str) -> str:
    """Relative, normalised path of a tar entry; '' for the root. Refuses `..` components."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidParameter(f"invalid tar: path {name!r} escapes the layer")
    return "/".join(parts)  # a leading "/" is dropped: absolute names land inside the layer


class _Applier:
    def __init__(self, dest: str, whiteouts: WhiteoutMode, meter: Meter | None = None) -> None:
        self.dest = dest
        self.meter = meter
        self.whiteouts = whiteouts
        self.root = os.geteuid() == 0
        self.size = 0
        self._safe: set[str] = {""}       # dirs known to be real directories, not symlinks
        self._dirs: list[tuple[str, tarfile.TarInfo]] = []
        self._written: set[str] = set()   # for opaque dirs in "delete" mode

    # -- path safety ------------------------------------------------------------
    def _parent(self, rel: str, create: bool = True) -> None:
        """Make sure every parent of `rel` is a real directory inside dest (never a symlink)."""
        if rel.rpartition("/")[0] in self._safe:
            return  # a dir is only marked safe once all of its own parents were
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if prefix in self._safe:
                continue
            full = os.path.join(self.dest, prefix)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                if not create:
                    raise InvalidParameter(f"invalid tar: {rel!r}: no such directory {prefix!r}") from None
                os.mkdir(full, 0o755)
                self._safe.add(prefix)
                continue
            if not stat.S_ISDIR(st.st_mode):
                # A symlink here would let the entry be written outside the layer.
                raise InvalidParameter(f"invalid tar: {rel!r} is beneath a non-directory {prefix!r}")
            self._safe.add(prefix)

    def _clear(self, rel: str, keep_dir: bool) -> None:
        """Remove what is at `rel` before writing a new entry there (never follow it)."""
        full = os.path.join(self.dest, rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return
            fstree.remove_tree(full)
            self._safe = {d for d in self._safe if d != rel and not d.startswith(rel + "/")}
        else:
            os.unlink(full)

    # -- entries ----------------------------------------------------------------
    def apply(self, tf: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        rel = clean_name(m.name)
        if rel == "":
            return  # the layer root itself: its metadata belongs to the snapshotter
        base = rel.rsplit("/", 1)[-1]
        if base.startswith(WHITEOUT_PREFIX) and self.whiteouts != "none":
            self._whiteout(rel, base)
            return
        self._parent(rel)
        full = os.path.join(self.dest, rel)
        self._clear(rel, keep_dir=m.isdir())
        self._written.add(rel)
        if m.isdir():
            if not os.path.isdir(full):
                os.mkdir(full, 0o755)
            self._safe.add(rel)
            self._dirs.append((full, m))  # mode and mtime after the children are written
            return
        if m.isreg():
            if self.meter is not None:
                self.meter.add_content(m.size)  # before writing: a sparse entry is small in the tar
            src = tf.extractfile(m)
            assert src is not None
            with open(full, "xb") as f:
                shutil.copyfileobj(src, f, _CHUNK)
            self.size += m.size
        elif m.issym():
            os.symlink(m.linkname, full)  # any target: it is resolved inside the container
        elif m.islnk():
            target = clean_name(m.linkname)
            self._parent(target, create=False)
            tfull = os.path.join(self.dest, target)
            if not os.path.lexists(tfull) or os.path.isdir(tfull) and not os.path.islink(tfull):
                raise InvalidParameter(f"invalid tar: hardlink {rel!r} to {m.linkname!r} outside the layer")
            os.link(tfull, full, follow_symlinks=False)
            return  # the link shares the target's inode and metadata
        elif m.ischr() or m.isblk():
            if not self.root:
                return  # device nodes need root; rootless Docker skips them too
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(full, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor))
        elif m.isfifo():
            os.mkfifo(full, m.mode & 0o7777)
        else:
            return  # sockets and unknown types carry nothing to unpack
        self._meta(full, m)

    def _meta(self, full: str, m: tarfile.TarInfo) -> None:
        # Order matters: chown clears setuid bits and security.capability, so it goes first.
        sym = m.issym()
        if self.root:
            os.lchown(full, m.uid, m.gid)
        if not sym:
            os.chmod(full, m.mode & 0o7777)
        for key, value in m.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                try:
                    os.setxattr(full, key[13:], value.encode("utf-8", "surrogateescape"),
                                follow_symlinks=False)
                except OSError as e:
                    if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                        raise
        os.utime(full, ns=(int(m.mtime * 1e9),) * 2, follow_symlinks=False)

    def _whiteout(self, rel: str, base: str) -> None:
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        self._parent(rel)
        pfull = os.path.join(self.dest, parent)
        if base == OPAQUE:
            if self.whiteouts == "overlay":
                try:
                    os.setxattr(pfull, OPAQUE_XATTR, b"y")
                except PermissionError:
                    raise SystemFailure("opaque whiteouts need root (trusted.* xattrs)") from None
            else:
                for name in os.listdir(pfull):
                    child = f"{parent}/{name}" if parent else name
                    if child not in self._written:
                        self._clear(child, keep_dir=False)
            return
        name = base[len(WHITEOUT_PREFIX):]
        target = f"{parent}/{name}" if parent else name
        clean_name(target)
        self._clear(target, keep_dir=False)
        if self.whiteouts == "overlay":
            try:
                os.mknod(os.path.join(self.dest, target), stat.S_IFCHR, os.makedev(0, 0))
            except PermissionError:
                raise SystemFailure("whiteouts need root (mknod)") from None

    def finish(self) -> None:
        # Deepest first, so setting a parent's mtime is not undone by its children.
        for full, m in sorted(self._dirs, key=lambda d: d[0], reverse=True):
            self._meta(full, m)
