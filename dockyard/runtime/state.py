"""Small on-disk state helpers shared by the runtime and the supervisor: atomic JSON, time stamps, /proc facts."""
from __future__ import annotations

import fcntl
import json
import os
from typing import Any, Iterator

from ..timefmt import rfc3339_ns


def atomic_write_json(path: str, obj: Any) -> None:
    """Write to a temp file, fsync, rename: a reader sees the old or the new content, never half."""
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, json.dumps(obj).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def now_rfc3339() -> str:
    """Now as runc's state and Docker's container times write it (nine fraction digits)."""
    return rfc3339_ns(fixed=True)


def proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in ticks), or None if gone or a zombie; guards against pid reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rfind(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def reap_children() -> Iterator[tuple[int, int]]:
    """Every child that has ended, as (pid, exit code; minus the signal if killed), without blocking."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


def hold_pid_lock(path: str) -> int | None:
    """Take the lock file `path` for this process's life and write our pid in it (for operators
    and tests); None when another live process holds it. The fd stays open: closing it unlocks."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd
