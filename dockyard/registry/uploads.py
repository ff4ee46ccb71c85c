"""Upload sessions: bytes staged on the local root, hashed as they arrive, verified before commit.

A session is `<root>/_uploads/<uuid>/` with `data` and `info` (repository, start time). The
running hash lives in memory while the server runs; a session that outlived a restart is hashed
again from its file at commit. Hashing and writing run in one worker thread per session while the
event loop keeps reading the next chunk from the socket (double buffering).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import time
import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import RegistryError
from .names import parse_digest

UUID_RE = re.compile(r"[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}")
BATCH = 1024 * 1024
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="registry-upload")


@dataclass
class Upload:
    uuid: str
    name: str
    directory: str

    @property
    def data(self) -> str:
        return os.path.join(self.directory, "data")

    def size(self) -> int:
        try:
            return os.stat(self.data).st_size
        except FileNotFoundError:
            return 0


class Uploads:
    def __init__(self, root: str, fsync: bool = True) -> None:
        self.root = os.path.join(os.path.abspath(root), "_uploads")
        self.fsync = fsync
        os.makedirs(self.root, exist_ok=True)
        self._hashes: dict[str, tuple[Any, int]] = {}  # uuid -> (sha256 state, bytes hashed)
        self._locks: dict[str, asyncio.Lock] = {}

    def lock(self, upload: Upload) -> asyncio.Lock:
        """Serialises the requests of one session (a client must not interleave chunks)."""
        return self._locks.setdefault(upload.uuid, asyncio.Lock())

    def create(self, name: str) -> Upload:
        uid = str(uuidlib.uuid4())
        directory = os.path.join(self.root, uid)
        os.makedirs(directory)
        with open(os.path.join(directory, "info"), "w") as f:
            json.dump({"name": name, "started": time.time()}, f)
        open(os.path.join(directory, "data"), "wb").close()
        self._hashes[uid] = (hashlib.sha256(), 0)
        return Upload(uid, name, directory)

    def get(self, name: str, uid: str) -> Upload:
        unknown = RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uid})
        if not UUID_RE.fullmatch(uid):
            raise unknown
        directory = os.path.join(self.root, uid)
        try:
            with open(os.path.join(directory, "info")) as f:
                info = json.load(f)
        except (FileNotFoundError, ValueError):
            raise unknown from None
        if info.get("name") != name:
            raise unknown
        return Upload(uid, name, directory)

    def writer(self, upload: Upload) -> "UploadWriter":
        return UploadWriter(self, upload)

    def _hash_state(self, upload: Upload) -> tuple[Any, int] | None:
        return self._hashes.get(upload.uuid)

    def finish(self, upload: Upload, digest: str) -> str:
        """Verifies the staged bytes against digest; returns the file to commit (blocking)."""
        algorithm, expected = parse_digest(digest)
        state = self._hashes.get(upload.uuid)
        size = upload.size()
        if algorithm == "sha256" and state is not None and state[1] == size:
            actual = state[0].hexdigest()
        else:  # a session from before a restart, or another algorithm: hash the file again
            h = hashlib.new(algorithm)
            with open(upload.data, "rb") as f:
                while chunk := f.read(BATCH):
                    h.update(chunk)
            actual = h.hexdigest()
        if actual != expected:
            self.cancel(upload)
            raise RegistryError("DIGEST_INVALID", detail={"expected": digest, "actual": f"{algorithm}:{actual}"})
        if self.fsync:
            fd = os.open(upload.data, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        final = os.path.join(self.root, f"{upload.uuid}.blob")
        os.replace(upload.data, final)
        self.cancel(upload)
        return final

    def cancel(self, upload: Upload) -> None:
        self._hashes.pop(upload.uuid, None)
        self._locks.pop(upload.uuid, None)
        shutil.rmtree(upload.directory, ignore_errors=True)

    def purge(self, older_than: float) -> int:
        """Removes sessions started before the given time (GC); returns how many."""
        removed = 0
        for entry in os.listdir(self.root):
            path = os.path.join(self.root, entry)
            try:
                if os.stat(path).st_mtime < older_than:
                    if os.path.isdir(path):
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        os.unlink(path)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


class UploadWriter:
    """Appends request body chunks to a session: batches of ~1 MiB hashed and written off the loop."""

    def __init__(self, uploads: Uploads, upload: Upload) -> None:
        self.uploads = uploads
        self.upload = upload
        self.file = open(upload.data, "ab")
        state = uploads._hash_state(upload)
        self.hash = state[0] if state is not None and state[1] == upload.size() else None
        self.hashed = upload.size()
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.pending: asyncio.Future[None] | None = None
        self.written = 0

    def _flush_sync(self, chunks: list[bytes]) -> None:
        data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        if self.hash is not None:
            self.hash.update(data)
        self.file.write(data)

    async def _submit(self) -> None:
        if self.pending is not None:
            await self.pending
            self.pending = None
        if self.buffer:
            chunks, self.buffer, self.buffered = self.buffer, [], 0
            self.pending = asyncio.get_running_loop().run_in_executor(_POOL, self._flush_sync, chunks)

    async def write(self, chunk: bytes) -> None:
        self.buffer.append(chunk)
        self.buffered += len(chunk)
        self.written += len(chunk)
        if self.buffered >= BATCH:
            await self._submit()

    async def close(self, ok: bool = True) -> None:
        try:
            if ok:
                await self._submit()
            if self.pending is not None:
                await self.pending
        finally:
            self.pending = None
            self.file.close()
            if self.hash is not None:
                self.uploads._hashes[self.upload.uuid] = (self.hash, self.hashed + self.written)
            else:
                self.uploads._hashes.pop(self.upload.uuid, None)
