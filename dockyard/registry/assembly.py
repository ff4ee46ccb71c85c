"""Builds the registry from its configuration: storage backend, store, uploads, auth, TLS, the app."""
from __future__ import annotations

import importlib
import os
import ssl
from typing import Any

from .app import RegistryApp
from .auth import Authorizer
from .auth.htpasswd import BasicAuth, Htpasswd
from .auth.token import Rule, TokenAuth, TokenConfig, TokenServer, load_key
from .config import Config, ConfigError
from .storage import DRIVERS
from .storage.base import Storage
from .store import RegistryStore
from .uploads import Uploads


def make_storage(config: Config) -> Storage:
    module_name, cls_name = DRIVERS[config.backend].split(":")
    cls: Any = getattr(importlib.import_module(module_name), cls_name)
    if config.backend == "filesystem":
        storage: Storage = cls(config.root, fsync=config.fsync)
        return storage
    s3 = dict(config.s3)
    known = ("bucket", "prefix", "region", "endpoint", "access_key", "secret_key", "create_bucket")
    unknown = set(s3) - set(known)
    if unknown:
        raise ConfigError(f"unknown [storage.s3] keys: {sorted(unknown)}")
    storage = cls(**s3)
    return storage


def make_auth(config: Config) -> tuple[Authorizer | None, TokenServer | None]:
    if config.htpasswd is not None:
        return BasicAuth(Htpasswd(config.htpasswd["path"]), config.htpasswd.get("realm", "Dockyard Registry")), None
    if config.token is not None:
        t = config.token
        token_config = TokenConfig(
            service=t.get("service", "dockyard-registry"), issuer=t.get("issuer", "dockyard-token-server"),
            realm=t.get("realm"), expiration=int(t.get("expiration", 300)),
            key=load_key(config.root, t.get("secret")))
        if "acl" in t:
            token_config.acl = [Rule(str(r.get("account", "*")), str(r.get("name", "*")), list(r.get("actions", [])))
                                for r in t["acl"]]
        users = Htpasswd(t["htpasswd"]) if t.get("htpasswd") else None
        return TokenAuth(token_config), TokenServer(token_config, users)
    return None, None


def make_ssl(config: Config) -> ssl.SSLContext | None:
    if not config.tls_certificate:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.tls_certificate, config.tls_key)
    if config.tls_client_ca:
        ctx.load_verify_locations(config.tls_client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def build(config: Config) -> RegistryApp:
    os.makedirs(config.root, exist_ok=True)
    store = RegistryStore(make_storage(config))
    uploads = Uploads(config.root, fsync=config.fsync)
    authorizer, token_server = make_auth(config)
    return RegistryApp(store, uploads, config.root, authorizer=authorizer, token_server=token_server,
                       delete_enabled=config.delete_enabled)
