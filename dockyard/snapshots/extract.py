"""Extract an untrusted tar into a directory (the archive API's PUT): layer apply's path rules, checked first."""
from __future__ import annotations

import errno
import os
import stat
import tarfile
import zlib
from typing import BinaryIO

from ..errors import InvalidParameter
from .apply import _Applier, clean_name
from .limits import DEFAULT, UnpackLimits
from .streams import decompressed

_CHUNK = 1 << 20


def check(stream: BinaryIO, dest: str, no_overwrite_dir_non_dir: bool = False,
          limits: UnpackLimits = DEFAULT) -> None:
    """Refuse the whole tar before anything is written (a dry run of `_Extractor` on `dest`).

    Nothing may leave the target: `..` names, hardlinks to outside or to a directory, entries
    beneath a symlink or a file (one already in `dest` or one the tar itself makes earlier);
    with `no_overwrite_dir_non_dir`, a directory replaced by a non-directory or the reverse;
    and a tar that unpacks past `limits` (every byte is read, so a bomb is caught here).
    """
    try:
        meter = limits.meter("archive")
        plain, _media = decompressed(stream, meter)
        plan = _Plan(dest, no_overwrite_dir_non_dir)
        with tarfile.open(fileobj=plain, mode="r|", bufsize=_CHUNK) as tf:  # type: ignore[call-overload]
            for m in tf:
                if m.isreg():
                    meter.add_content(m.size)
                plan.add(m)
    except (tarfile.TarError, EOFError, zlib.error, UnicodeError) as e:
        raise InvalidParameter(f"invalid tar: {e}") from None
    except OSError as e:
        if e.errno is None:
            raise InvalidParameter(f"invalid tar: {e}") from None
        if e.errno == errno.ENAMETOOLONG:
            raise InvalidParameter(f"invalid tar: a path is longer than PATH_MAX: {e.strerror}") from None
        raise


class _Plan:
    """What each path will be once the entries so far are written: True a directory, False not."""

    def __init__(self, dest: str, no_overwrite: bool) -> None:
        self.dest = dest
        self.no_overwrite = no_overwrite
        self.kinds: dict[str, bool | None] = {"": True}  # None: nothing there

    def _kind(self, rel: str) -> bool | None:
        if rel not in self.kinds:
            try:
                st = os.lstat(os.path.join(self.dest, rel))
                self.kinds[rel] = stat.S_ISDIR(st.st_mode)  # a symlink, even to a dir, is False
            except (FileNotFoundError, NotADirectoryError):
                self.kinds[rel] = None
        return self.kinds[rel]

    def _parents(self, rel: str, create: bool) -> None:
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            kind = self._kind(prefix)
            if kind is None and create:
                self.kinds[prefix] = True  # the extractor makes missing parents
            elif kind is None:
                raise InvalidParameter(f"invalid tar: {rel!r}: no such directory {prefix!r}")
            elif kind is False:
                raise InvalidParameter(f"invalid tar: {rel!r} is beneath a non-directory {prefix!r}")

    def add(self, m: tarfile.TarInfo) -> None:
        rel = clean_name(m.name)
        if rel == "":
            return
        self._parents(rel, create=True)
        before = self._kind(rel)
        if self.no_overwrite and before is True and not m.isdir():
            raise InvalidParameter(f'cannot overwrite directory "/{rel}" with non-directory')
        if self.no_overwrite and before is False and m.isdir():
            raise InvalidParameter(f'cannot overwrite non-directory "/{rel}" with directory')
        if m.islnk():
            target = clean_name(m.linkname)
            if target == "":
                raise InvalidParameter(f"invalid tar: hardlink {m.name!r} to the target itself")
            self._parents(target, create=False)
            if self._kind(target) is not False:
                raise InvalidParameter(f"invalid tar: hardlink {rel!r} to {m.linkname!r} outside the layer")
        if before is True and not m.isdir():  # the directory and all below it are replaced
            self.kinds = {k: v for k, v in self.kinds.items() if not k.startswith(rel + "/")}
        self.kinds[rel] = m.isdir()


def extract(stream: BinaryIO, dest: str, no_overwrite_dir_non_dir: bool = False,
            owner: tuple[int, int] | None = None, limits: UnpackLimits = DEFAULT) -> None:
    """Unpack the (possibly gzip) tar in the seekable `stream` into the real directory `dest`.

    Entries never leave `dest`: `..` names are refused, parents must be real directories
    (never symlinks), an existing symlink is replaced rather than written through, hardlinks
    point inside. `owner` (uid, gid) replaces the tar's owners (copyUIDGID).
    """
    st = os.lstat(dest)
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidParameter("extraction point is not a directory")
    stream.seek(0)
    check(stream, dest, no_overwrite_dir_non_dir, limits)
    stream.seek(0)
    try:
        plain, _media = decompressed(stream)
        applier = _Extractor(dest, no_overwrite_dir_non_dir, owner)
        with tarfile.open(fileobj=plain, mode="r|", bufsize=_CHUNK) as tf:  # type: ignore[call-overload]
            for member in tf:
                applier.apply(tf, member)
        applier.finish()
    except (tarfile.TarError, EOFError, zlib.error, UnicodeError) as e:
        raise InvalidParameter(f"invalid tar: {e}") from None


class _Extractor(_Applier):
    def __init__(self, dest: str, no_overwrite: bool, owner: tuple[int, int] | None) -> None:
        super().__init__(dest, "none")
        self.no_overwrite = no_overwrite
        self.owner = owner

    def _clear(self, rel: str, keep_dir: bool) -> None:
        if self.no_overwrite:
            try:
                st = os.lstat(os.path.join(self.dest, rel))
            except FileNotFoundError:
                st = None
            if st is not None and stat.S_ISDIR(st.st_mode) and not keep_dir:
                raise InvalidParameter(f'cannot overwrite directory "/{rel}" with non-directory')
            if st is not None and not stat.S_ISDIR(st.st_mode) and keep_dir:
                raise InvalidParameter(f'cannot overwrite non-directory "/{rel}" with directory')
        super()._clear(rel, keep_dir)

    def _meta(self, full: str, m: tarfile.TarInfo) -> None:
        if self.owner is not None:
            m.uid, m.gid = self.owner
        super()._meta(full, m)
