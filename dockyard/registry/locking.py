"""The lock that keeps garbage collection and writes apart: `<root>/gc.lock`.

Every request that adds content (upload, mount, manifest PUT, delete) holds a shared flock on
it while it runs; `dockyard registry gc` holds it exclusively for its mark and sweep. So a
collection never sees half of a push's request, and writes wait (up to `timeout`, then 429
TOOMANYREQUESTS) while a collection runs. Blobs uploaded shortly before a collection, whose
manifest is not pushed yet, are protected by GC's grace period instead (see gc.py).
"""
from __future__ import annotations

import asyncio
import fcntl
import os
from types import TracebackType

from .errors import RegistryError

LOCK_NAME = "gc.lock"


class WriteGuard:
    def __init__(self, root: str, timeout: float = 30.0) -> None:
        self.path = os.path.join(os.path.abspath(root), LOCK_NAME)
        self.timeout = timeout
        self.fd = -1

    async def __aenter__(self) -> "WriteGuard":
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if loop.time() >= deadline:
                    os.close(self.fd)
                    self.fd = -1
                    raise RegistryError("TOOMANYREQUESTS", "garbage collection in progress",
                                        headers=[("Retry-After", "5")]) from None
                await asyncio.sleep(0.05)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = -1


def exclusive(root: str) -> int:
    """Takes the lock exclusively (blocking) for GC; close the returned fd to release it."""
    fd = os.open(os.path.join(os.path.abspath(root), LOCK_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd
