"""Helpers that build small tars in memory for snapshot and image tests."""
from __future__ import annotations

import io
import tarfile


def make_tar(entries: list[tuple], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """entries: (name, kind, payload) with kind in file/dir/sym/link/fifo; payload bytes or link."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, kind, *rest in entries:
            payload = rest[0] if rest else b""
            ti = tarfile.TarInfo(name)
            ti.mtime = 1_000_000_000
            ti.mode = rest[1] if len(rest) > 1 else (0o755 if kind == "dir" else 0o644)
            if kind == "file":
                ti.size = len(payload)
                tf.addfile(ti, io.BytesIO(payload))
                continue
            ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "link": tarfile.LNKTYPE,
                       "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[kind]
            if kind in ("sym", "link"):
                ti.linkname = payload
            tf.addfile(ti)
    return buf.getvalue()
