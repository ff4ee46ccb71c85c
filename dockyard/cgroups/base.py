"""The operations every cgroup version provides, and the shared file helpers."""
from __future__ import annotations

import errno
import os
import signal
import time
from abc import ABC, abstractmethod

from .resources import Resources


class CgroupError(OSError):
    """A cgroup file could not be written or the group could not be removed."""


def write(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise CgroupError(e.errno, f"write {value!r} to {path}: {e.strerror}", path) from None


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def read_counter(path: str, key: str) -> int:
    """A `key value` line of a flat-keyed cgroup file (memory.events, memory.oom_control); 0 if absent."""
    try:
        text = read(path)
    except FileNotFoundError:
        return 0
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            return int(v)
    return 0


def read_pids(path: str) -> list[int]:
    try:
        return [int(x) for x in read(path).split()]
    except FileNotFoundError:
        return []


def rmdir_retry(path: str, timeout: float) -> None:
    """rmdir a cgroup dir; EBUSY lasts while killed tasks drain, so retry until `timeout`."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise CgroupError(e.errno, f"rmdir {path}: {e.strerror}", path) from None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class Cgroup(ABC):
    """One container's cgroup, whatever the version."""

    def __init__(self, root: str, path: str) -> None:
        self.root = root
        self.path = "/" + path.strip("/")

    @abstractmethod
    def create(self, resources: Resources | None = None) -> None: ...

    @abstractmethod
    def add(self, pid: int) -> None:
        """Move `pid` in (0 means the calling process)."""

    @abstractmethod
    def pids(self) -> list[int]: ...

    @abstractmethod
    def oom_killed(self) -> bool: ...

    @abstractmethod
    def freeze(self) -> None: ...

    @abstractmethod
    def thaw(self) -> None: ...

    @abstractmethod
    def delete(self, timeout: float = 5.0) -> None: ...

    @abstractmethod
    def exists(self) -> bool: ...

    def kill_all(self, sig: int = signal.SIGKILL) -> None:
        """Signal every task; freeze first so nothing forks past the kill, then thaw so the signal is handled."""
        self.freeze()
        try:
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        finally:
            self.thaw()
