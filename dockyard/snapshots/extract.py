"""Extract an untrusted tar into a directory (the archive API's PUT): layer apply's path rules, checked first."""
from __future__ import annotations

import os
import stat
import tarfile
import zlib
from typing import BinaryIO

from ..errors import InvalidParameter
from .apply import _Applier, clean_name
from .streams import decompressed

_CHUNK = 1 << 20


def check(stream: BinaryIO) -> None:
    """Refuse the whole tar before anything is written: no entry or hardlink may leave the target."""
    try:
        plain, _media = decompressed(stream)
        with tarfile.open(fileobj=plain, mode="r|", bufsize=_CHUNK) as tf:  # type: ignore[call-overload]
            for m in tf:
                clean_name(m.name)
                if m.islnk():
                    if clean_name(m.linkname) == "":
                        raise InvalidParameter(f"invalid tar: hardlink {m.name!r} to the target itself")
    except (tarfile.TarError, EOFError, zlib.error, UnicodeError) as e:
        raise InvalidParameter(f"invalid tar: {e}") from None


def extract(stream: BinaryIO, dest: str, no_overwrite_dir_non_dir: bool = False,
            owner: tuple[int, int] | None = None) -> None:
    """Unpack the (possibly gzip) tar in the seekable `stream` into the real directory `dest`.

    Entries never leave `dest`: `..` names are refused, parents must be real directories
    (never symlinks), an existing symlink is replaced rather than written through, hardlinks
    point inside. `owner` (uid, gid) replaces the tar's owners (copyUIDGID).
    """
    st = os.lstat(dest)
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidParameter("extraction point is not a directory")
    stream.seek(0)
    check(stream)
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
