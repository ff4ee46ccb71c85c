"""The filesystem backend: keys are files under a root; writes are temp + fsync + rename."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Iterator

from .base import Stat

CHUNK = 1024 * 1024


class FilesystemStorage:
    """Keys map to files under `root`; every write lands atomically by rename."""

    blocking = False  # local stats and small reads are cheap enough for the event loop

    def __init__(self, root: str, fsync: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.fsync = fsync
        os.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"bad storage key {key!r}")
        return os.path.join(self.root, *parts)

    def stat(self, key: str) -> Stat | None:
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return Stat(st.st_size, st.st_mtime)

    def get(self, key: str) -> bytes | None:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            _unlink(tmp)
            raise

    def put_file(self, key: str, path: str) -> None:
        dest = self._path(key)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        try:
            os.replace(path, dest)  # same filesystem: the upload becomes the blob without a copy
        except OSError:
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(dest))
            try:
                with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                    shutil.copyfileobj(src, out, CHUNK)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dest)
            except BaseException:
                _unlink(tmp)
                raise
            _unlink(path)

    def touch(self, key: str) -> None:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            pass

    def delete(self, key: str) -> bool:
        try:
            os.unlink(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return False
        except IsADirectoryError:
            shutil.rmtree(self._path(key), ignore_errors=True)
        self._prune(os.path.dirname(self._path(key)))
        return True

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        shutil.rmtree(path, ignore_errors=True)
        self._prune(os.path.dirname(path))

    def _prune(self, directory: str) -> None:
        """Removes directories left empty, up to the root."""
        while directory.startswith(self.root + os.sep):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def list(self, prefix: str) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self._path(prefix)) if not n.startswith(".tmp-"))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def walk(self, prefix: str) -> Iterator[tuple[str, Stat]]:
        base = self._path(prefix)
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(".tmp-"):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                rel = os.path.relpath(path, self.root).replace(os.sep, "/")
                yield rel, Stat(st.st_size, st.st_mtime)

    def local_path(self, key: str) -> str | None:
        return self._path(key)

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        with open(self._path(key), "rb") as f:
            f.seek(start)
            while length > 0:
                chunk = f.read(min(CHUNK, length))
                if not chunk:
                    return
                length -= len(chunk)
                yield chunk


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
