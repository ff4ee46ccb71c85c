"""Bearer tokens: the built-in token server (`GET /auth/token`) and the registry's check of its tokens.

Tokens are JWTs signed with HMAC-SHA256 by a key only this registry holds (from the config, or
`<root>/_token.key` made at first start). Their `access` claim lists what they grant, in the
distribution token spec's shape: `[{"type": "repository", "name": "a/b", "actions": ["pull", "push"]}]`.
What an account may get comes from the ACL: rules of (account, repository glob, actions), first
match wins; `account = "*"` is any authenticated user, `""` anonymous.
"""
from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import RegistryError
from ..server import Request, Response, reply
from . import Access, scope_string
from ...timefmt import rfc3339_ns
from .htpasswd import Htpasswd, basic_credentials

ALL_ACTIONS = ["pull", "push", "delete"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], key: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def verify(token: str, key: bytes, audience: str, now: float | None = None) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token for this audience; None otherwise."""
    try:
        head, body, mac = token.split(".")
        expected = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        if json.loads(_unb64(head)).get("alg") != "HS256":
            return None
        claims: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    now = time.time() if now is None else now
    if not isinstance(claims, dict) or claims.get("aud") != audience:
        return None
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now:
        return None
    if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 60:
        return None
    return claims


@dataclass
class Rule:
    account: str
    name: str
    actions: list[str]

    def matches(self, account: str | None, resource_type: str, name: str) -> bool:
        if self.account == "*":
            if not account:
                return False
        elif self.account != (account or ""):
            return False
        target = name if resource_type == "repository" else f"{resource_type}:{name}"
        return fnmatch.fnmatchcase(target, self.name)


DEFAULT_ACL = [Rule("*", "*", ALL_ACTIONS), Rule("*", "registry:catalog", ["*"])]


def parse_scopes(values: list[str]) -> list[tuple[str, str, list[str]]]:
    """'repository:a/b:pull,push' (several, space-separated or repeated) -> [(type, name, actions)]."""
    found = []
    for value in values:
        for item in value.split():
            parts = item.split(":")
            if len(parts) < 3:
                continue
            resource_type, actions = parts[0], parts[-1]
            name = ":".join(parts[1:-1])  # names may carry a registry host with a port
            found.append((resource_type, name, [a for a in actions.split(",") if a]))
    return found


@dataclass
class TokenConfig:
    service: str = "dockyard-registry"
    issuer: str = "dockyard-token-server"
    realm: str | None = None          # absolute URL of the token endpoint; default: this server's /auth/token
    expiration: int = 300
    key: bytes = b""
    acl: list[Rule] = field(default_factory=lambda: list(DEFAULT_ACL))


def load_key(root: str, secret: str | None) -> bytes:
    if secret:
        return secret.encode()
    path = os.path.join(os.path.abspath(root), "_token.key")
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key


class TokenServer:
    """`GET /auth/token?service=&scope=...`: Basic credentials (or none) in, a scoped token out."""

    def __init__(self, config: TokenConfig, htpasswd: Htpasswd | None) -> None:
        self.config = config
        self.htpasswd = htpasswd

    def grant(self, account: str | None, resource_type: str, name: str, wanted: list[str]) -> list[str]:
        for rule in self.config.acl:
            if rule.matches(account, resource_type, name):
                if "*" in rule.actions:
                    return wanted
                return [a for a in wanted if a in rule.actions]
        return []

    async def handle(self, request: Request) -> Response:
        account: str | None = None
        creds = basic_credentials(request)
        if creds is not None:
            if self.htpasswd is None or not await self.htpasswd.check(*creds):
                err = RegistryError("UNAUTHORIZED", "invalid username or password",
                                    headers=[("WWW-Authenticate", 'Basic realm="Dockyard Token Server"')])
                return reply(401, [("Content-Type", "application/json"), *err.headers], err.body())
            account = creds[0]
        service = request.arg("service") or self.config.service
        if service != self.config.service:
            err = RegistryError("DENIED", "unknown service", detail={"service": service})
            return reply(400, [("Content-Type", "application/json")], err.body())
        access = []
        for resource_type, name, wanted in parse_scopes(request.args("scope")):
            granted = self.grant(account, resource_type, name, wanted)
            access.append({"type": resource_type, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": self.config.issuer, "sub": account or "", "aud": service, "iat": now, "nbf": now - 10,
                  "exp": now + self.config.expiration, "jti": secrets.token_hex(12), "access": access}
        token = sign(claims, self.config.key)
        body = {"token": token, "access_token": token, "expires_in": self.config.expiration,
                "issued_at": rfc3339_ns(int(now) * 1_000_000_000, digits=0)}
        return reply(200, [("Content-Type", "application/json")], json.dumps(body).encode())


class TokenAuth:
    """The registry side: accepts bearer tokens of the token server, challenges with its realm."""

    def __init__(self, config: TokenConfig) -> None:
        self.config = config

    def _challenge(self, request: Request, access: list[Access], error: str | None = None) -> str:
        realm = self.config.realm or f"{request.scheme}://{request.headers.get('host', 'localhost')}/auth/token"
        parts = [f'realm="{realm}"', f'service="{self.config.service}"']
        if access:
            parts.append(f'scope="{scope_string(access)}"')
        if error:
            parts.append(f'error="{error}"')
        return "Bearer " + ",".join(parts)

    async def authorize(self, request: Request, access: list[Access]) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        claims = verify(token.strip(), self.config.key, self.config.service) if scheme.lower() == "bearer" else None
        detail = [{"Type": a.type, "Name": a.name, "Action": a.action} for a in access]
        if claims is None:
            raise RegistryError("UNAUTHORIZED", headers=[("WWW-Authenticate", self._challenge(request, access))],
                                detail=detail)
        granted = {(e.get("type"), e.get("name")): e.get("actions") or [] for e in claims.get("access") or []
                   if isinstance(e, dict)}
        for a in access:
            actions = granted.get((a.type, a.name), [])
            if a.action not in actions and "*" not in actions:
                if not claims.get("sub"):  # anonymous: ask for credentials rather than refuse
                    raise RegistryError("UNAUTHORIZED", headers=[(
                        "WWW-Authenticate", self._challenge(request, access, "insufficient_scope"))], detail=detail)
                raise RegistryError("DENIED", headers=[("WWW-Authenticate",
                                                        self._challenge(request, access, "insufficient_scope"))],
                                    detail=detail)
        return str(claims.get("sub") or "")
