"""The ctypes handle on libc that every kernel call goes through; errors keep their errno."""
from __future__ import annotations

import ctypes
import ctypes.util
import os

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def libc() -> ctypes.CDLL:
    return _libc


def check(result: int, what: str, path: str | None = None) -> int:
    """Raise OSError with the call's errno when a libc call returned -1."""
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return result
