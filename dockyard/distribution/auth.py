"""Registry credentials (X-Registry-Auth), WWW-Authenticate challenges, basic auth and bearer tokens."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import InvalidParameter

_PARAM_RE = re.compile(r'\s*([a-zA-Z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


@dataclass(frozen=True)
class Credentials:
    """What a client sends in X-Registry-Auth (the Engine API's AuthConfig)."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""
    server: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    @property
    def cache_key(self) -> str:
        """Tells credentials apart in the token cache without keeping the secret itself."""
        secret = "\0".join((self.username, self.password, self.identity_token))
        return hashlib.sha256(secret.encode()).hexdigest()[:32] if secret.strip("\0") else ""

    @classmethod
    def from_json(cls, data: object) -> "Credentials":
        if not isinstance(data, dict):
            return cls()
        get = lambda *keys: next((str(data[k]) for k in keys if data.get(k)), "")  # noqa: E731
        return cls(get("username", "Username"), get("password", "Password"),
                   get("identitytoken", "IdentityToken"), get("registrytoken", "RegistryToken"),
                   get("serveraddress", "ServerAddress"))

    @classmethod
    def from_header(cls, value: str | None) -> "Credentials":
        """Decode the base64url JSON header; an empty or `{}` header means anonymous."""
        if not value or not value.strip():
            return cls()
        raw = value.strip()
        try:
            decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            data = json.loads(decoded) if decoded.strip() else {}
        except (binascii.Error, ValueError):
            try:
                data = json.loads(raw)  # some old clients send plain JSON
            except ValueError:
                raise InvalidParameter("invalid X-Registry-Auth header: not base64url-encoded JSON") from None
        return cls.from_json(data)


@dataclass(frozen=True)
class Challenge:
    scheme: str                                   # "basic" or "bearer" (lower case)
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(header: str) -> list[Challenge]:
    """`Bearer realm="...",service="...",scope="..."` (one or more schemes) -> challenges."""
    out: list[Challenge] = []
    rest = header.strip()
    while rest:
        m = re.match(r"([A-Za-z][A-Za-z0-9_-]*)\s*", rest)
        if not m:
            break
        scheme, rest = m.group(1).lower(), rest[m.end():]
        params: dict[str, str] = {}
        while True:
            pm = _PARAM_RE.match(rest)
            if not pm or (pm.group(2) is None and pm.group(3) is None):
                break
            params[pm.group(1).lower()] = pm.group(2).replace('\\"', '"') if pm.group(2) is not None else pm.group(3)
            rest = rest[pm.end():]
        out.append(Challenge(scheme, params))
        rest = rest.lstrip(", ")
    return out


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# fetch(realm, service, scopes, credentials) -> (token, expires_in seconds)
TokenFetcher = Callable[[str, str, tuple[str, ...], Credentials], tuple[str, int]]


class TokenCache:
    """Bearer tokens per (realm, service, scopes, user) until shortly before they expire."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, tuple[str, ...], str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, tuple[str, ...], str]) -> str | None:
        with self._lock:
            hit = self._tokens.get(key)
            if hit is None or hit[1] <= time.monotonic():
                self._tokens.pop(key, None)
                return None
            return hit[0]

    def put(self, key: tuple[str, str, tuple[str, ...], str], token: str, expires_in: int) -> None:
        with self._lock:
            # Keep a margin so a token never expires between lookup and use.
            self._tokens[key] = (token, time.monotonic() + max(expires_in - 10, expires_in / 2, 1))


class Authorizer:
    """The Authorization header for one registry host and one set of credentials."""

    def __init__(self, creds: Credentials, cache: TokenCache, fetch: TokenFetcher) -> None:
        self.creds = creds
        self._cache = cache
        self._fetch = fetch
        self.challenge: Challenge | None = None
        self._lock = threading.Lock()

    def header(self, scopes: tuple[str, ...]) -> str | None:
        if self.creds.registry_token:
            return "Bearer " + self.creds.registry_token
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            if self.creds.username or self.creds.password:
                return basic_header(self.creds.username, self.creds.password)
            return None
        if ch.scheme == "bearer":
            realm, service = ch.params.get("realm", ""), ch.params.get("service", "")
            if not realm:
                return None
            key = (realm, service, tuple(sorted(scopes)), self.creds.cache_key)
            token = self._cache.get(key)
            if token is None:
                with self._lock:
                    token = self._cache.get(key)
                    if token is None:
                        token, expires = self._fetch(realm, service, key[2], self.creds)
                        self._cache.put(key, token, expires)
            return "Bearer " + token
        return None

    def learn(self, www_authenticate: str) -> bool:
        """Remember the registry's challenge; True if it tells us something new (retry then)."""
        for ch in parse_challenges(www_authenticate):
            if ch.scheme in ("bearer", "basic"):
                new = self.challenge is None or self.challenge.scheme != ch.scheme \
                    or self.challenge.params.get("realm") != ch.params.get("realm")
                self.challenge = ch
                return new
        return False


def scope(repository: str, *actions: str) -> str:
    return f"repository:{repository}:{','.join(actions)}"
