"""A log file that rotates at max-size into max-file generations, the rotated ones gzip'd if asked.

Naming is Docker's: `x.log` is written, `x.log.1` (or `x.log.1.gz`) is the newest rotated
generation, `x.log.N-1` the oldest. The writer runs in the supervisor's single-threaded event
loop (the built-in runtime forks there, so no threads): a rotated file is compressed in slices
from the loop, and the next rotation (or close) finishes a compression still under way.
"""
from __future__ import annotations

import asyncio
import os
import zlib
from typing import Callable

SLICE = 1024 * 1024  # compressed per turn of the loop: a few ms, so attach and output stay live


class RotatingFile:
    def __init__(self, path: str, max_size: int = -1, max_file: int = 1, compress: bool = False,
                 on_rotate: Callable[[], None] | None = None) -> None:
        self.path = path
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self.compress = compress
        self.on_rotate = on_rotate
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self._fd).st_size  # a new supervisor goes on where the last stopped
        self._job: _Compression | None = None

    def write_entries(self, entries: list[bytes]) -> None:
        """Append whole entries, one write per run that fits, rotating where the next would pass max-size."""
        if self.max_size <= 0:
            self.write(b"".join(entries))
            return
        run: list[bytes] = []
        size = self.size
        for e in entries:
            if size and size + len(e) > self.max_size:
                if run:
                    self._append(b"".join(run))
                    run = []
                self.rotate()
                size = 0
            run.append(e)
            size += len(e)
        if run:
            self._append(b"".join(run))

    def write(self, data: bytes) -> None:
        """Append `data` (one entry), rotating first if it would pass max-size."""
        if self.max_size > 0 and self.size and self.size + len(data) > self.max_size:
            self.rotate()
        self._append(data)

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.size += len(data)

    def rotate(self) -> None:
        if self._job is not None:
            self._job.finish()
        os.close(self._fd)
        if self.max_file > 1:
            ext = ".gz" if self.compress else ""
            _remove(f"{self.path}.{self.max_file - 1}{ext}")
            for n in range(self.max_file - 2, 0, -1):
                _rename(f"{self.path}.{n}{ext}", f"{self.path}.{n + 1}{ext}")
            os.rename(self.path, f"{self.path}.1")
        else:
            _remove(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_TRUNC, 0o640)
        self.size = 0
        if self.compress and self.max_file > 1:
            self._job = _Compression(f"{self.path}.1", self._job_done)
        if self.on_rotate is not None:
            self.on_rotate()

    def _job_done(self) -> None:
        self._job = None

    def close(self) -> None:
        if self._job is not None:
            self._job.finish()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _Compression:
    """gzip `src` to `src.gz` (through a temp name, so a reader sees either file whole), then unlink `src`."""

    def __init__(self, src: str, done: Callable[[], None]) -> None:
        self.src, self.done = src, done
        self.tmp = src + ".gz.tmp"
        self.inp = open(src, "rb")
        self.out = open(self.tmp, "wb")
        self.z = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip header and trailer
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None
        if self.loop is None:
            self.finish()
        else:
            self.loop.call_soon(self._step)

    def _step(self) -> None:
        if self.inp.closed:
            return
        if self._slice():
            self._commit()
        else:
            assert self.loop is not None
            self.loop.call_soon(self._step)

    def _slice(self) -> bool:
        chunk = self.inp.read(SLICE)
        if chunk:
            self.out.write(self.z.compress(chunk))
            return False
        self.out.write(self.z.flush())
        return True

    def finish(self) -> None:
        while not self.inp.closed and not self._slice():
            pass
        if not self.inp.closed:
            self._commit()

    def _commit(self) -> None:
        self.inp.close()
        self.out.close()
        os.rename(self.tmp, self.src + ".gz")
        _remove(self.src)
        self.done()


def generations(path: str, max_file: int = 0) -> list[str]:
    """Every file of the log, oldest first: rotated generations (plain or .gz) then `path` itself."""
    found = []
    n = 1
    while True:
        if os.path.exists(f"{path}.{n}"):
            found.append(f"{path}.{n}")
        elif os.path.exists(f"{path}.{n}.gz"):
            found.append(f"{path}.{n}.gz")
        elif max_file and n >= max_file or n > 1000:
            break
        elif not os.path.exists(f"{path}.{n + 1}") and not os.path.exists(f"{path}.{n + 1}.gz"):
            break
        n += 1
    return [*reversed(found), path]


def remove_all(path: str) -> None:
    for p in generations(path):
        _remove(p)
        _remove(p + ".gz.tmp")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _rename(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        pass
