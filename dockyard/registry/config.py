"""The registry's configuration: a TOML file, overridden by the command line's --listen and --root.

    [http]
    listen = "127.0.0.1:5000"
    [http.tls]                      # serve HTTPS
    certificate = "/etc/dockyard-registry/cert.pem"
    key = "/etc/dockyard-registry/key.pem"
    [storage]
    backend = "filesystem"          # or "s3"
    delete = true                   # allow DELETE of blobs and manifests
    fsync = true
    [storage.s3]
    bucket = "registry"; prefix = ""; region = "us-east-1"; endpoint = "http://127.0.0.1:9000"
    access_key = "..."; secret_key = "..."; create_bucket = false
    [auth.htpasswd]                 # HTTP basic auth
    path = "/etc/dockyard-registry/htpasswd"; realm = "Dockyard Registry"
    [auth.token]                    # bearer tokens from the built-in token server at /auth/token
    htpasswd = "/etc/dockyard-registry/htpasswd"; service = "dockyard-registry"
    issuer = "dockyard-token-server"; realm = "https://registry.example/auth/token"
    secret = "..."; expiration = 300
    [[auth.token.acl]]
    account = "*"; name = "*"; actions = ["pull", "push", "delete"]
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    listen: str = "127.0.0.1:5000"
    root: str = "/var/lib/dockyard-registry"
    tls_certificate: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None
    backend: str = "filesystem"
    s3: dict[str, Any] = field(default_factory=dict)
    delete_enabled: bool = True
    fsync: bool = True
    htpasswd: dict[str, Any] | None = None
    token: dict[str, Any] | None = None
    log_level: str = "info"


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table")
    return value


def load(path: str | None, listen: str | None = None, root: str | None = None) -> Config:
    config = Config()
    if path:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read {path}: {e}") from None
        http = _table(data, "http")
        config.listen = str(http.get("listen", config.listen))
        tls = _table(http, "tls")
        config.tls_certificate = tls.get("certificate")
        config.tls_key = tls.get("key")
        config.tls_client_ca = tls.get("client_ca")
        config.root = str(data.get("root", config.root))
        storage = _table(data, "storage")
        config.backend = str(storage.get("backend", "filesystem"))
        config.delete_enabled = bool(storage.get("delete", True))
        config.fsync = bool(storage.get("fsync", True))
        config.s3 = _table(storage, "s3")
        auth = _table(data, "auth")
        if "htpasswd" in auth:
            config.htpasswd = _table(auth, "htpasswd")
        if "token" in auth:
            config.token = _table(auth, "token")
        config.log_level = str(_table(data, "log").get("level", "info"))
    if listen:
        config.listen = listen
    if root:
        config.root = root
    if config.backend not in ("filesystem", "s3"):
        raise ConfigError(f"unknown storage backend {config.backend!r}")
    if config.backend == "s3" and not config.s3.get("bucket"):
        raise ConfigError("[storage.s3] needs a bucket")
    if bool(config.tls_certificate) != bool(config.tls_key):
        raise ConfigError("[http.tls] needs both certificate and key")
    if config.htpasswd is not None and not config.htpasswd.get("path"):
        raise ConfigError("[auth.htpasswd] needs a path")
    if config.htpasswd is not None and config.token is not None:
        raise ConfigError("choose one of [auth.htpasswd] and [auth.token]")
    return config
