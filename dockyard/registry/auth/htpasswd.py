"""htpasswd files with bcrypt hashes (`htpasswd -B`), and HTTP basic auth against them."""
from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import threading

from ..errors import RegistryError
from ..server import Request
from . import Access


class Htpasswd:
    """Users from an htpasswd file (bcrypt only), re-read when the file changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime = -1.0
        self._users: dict[str, bytes] = {}
        self._verified: set[tuple[str, bytes, bytes]] = set()  # (user, hash, sha256(password)) seen good
        self._lock = threading.Lock()

    def _load(self) -> dict[str, bytes]:
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return {}
        with self._lock:
            if mtime != self._mtime:
                users = {}
                with open(self.path) as f:
                    for line in f:
                        line = line.strip()
                        if not line or line.startswith("#") or ":" not in line:
                            continue
                        user, hashed = line.split(":", 1)
                        if hashed.startswith(("$2y$", "$2b$", "$2a$")):
                            users[user] = hashed.encode()
                self._users, self._mtime = users, mtime
            return self._users

    def verify(self, user: str, password: str) -> bool:
        """Blocking (bcrypt is slow by design); successful checks are remembered in memory."""
        import bcrypt

        hashed = self._load().get(user)
        if hashed is None:
            return False
        key = (user, hashed, hashlib.sha256(password.encode()).digest())
        if key in self._verified:
            return True
        candidate = b"$2b$" + hashed[4:] if hashed.startswith(b"$2y$") else hashed
        try:
            ok = bcrypt.checkpw(password.encode(), candidate)
        except ValueError:
            return False
        if ok:
            self._verified.add(key)
        return ok

    async def check(self, user: str, password: str) -> bool:
        hashed = self._load().get(user)
        if hashed is not None and (user, hashed, hashlib.sha256(password.encode()).digest()) in self._verified:
            return True
        return await asyncio.to_thread(self.verify, user, password)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def hash_password(password: str, rounds: int = 10) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


class BasicAuth:
    """Every authenticated user may do everything; anonymous requests get a Basic challenge."""

    def __init__(self, htpasswd: Htpasswd, realm: str = "Dockyard Registry") -> None:
        self.htpasswd = htpasswd
        self.realm = realm

    async def authorize(self, request: Request, access: list[Access]) -> str | None:
        creds = basic_credentials(request)
        if creds is not None and await self.htpasswd.check(*creds):
            return creds[0]
        raise RegistryError("UNAUTHORIZED", headers=[("WWW-Authenticate", f'Basic realm="{self.realm}"')],
                            detail=[{"Type": a.type, "Name": a.name, "Action": a.action} for a in access])
