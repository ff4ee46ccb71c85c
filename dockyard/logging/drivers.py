"""Every log driver built in, registered from this one list (info's Plugins.Log, LogConfig.Type)."""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any, AsyncIterator, Callable

from ..errors import InvalidParameter, NotImplementedYet
from . import fluentd, gelf, journald, jsonfile, local, options, reader, syslog
from .driver import LogDriver, LogWriter
from .options import Info
from .reader import Codec, Cursor, Entry, Reader

# Dual logging (Docker 20.10): a remote driver keeps a local-format cache that `docker logs` reads.
CACHE_OPTS = ("cache-disabled", "cache-max-size", "cache-max-file", "cache-compress")
NOT_READABLE = "configured logging driver does not support reading"


class _Readable:
    codec: Codec

    def reader(self, path: str, tail: int | None = None, since: int = 0, until: int | None = None) -> Reader:
        return Reader(path, self.codec, tail, since, until)

    def follow(self, cursor: Cursor, running: Callable[[], bool], since: int = 0,
               until: int | None = None) -> AsyncIterator[Entry]:
        return reader.follow(cursor, self.codec, running, since, until)


class JsonFileDriver(_Readable):
    """Docker's default format, rotated by default here (20 MB x 5; max-size=-1 for unbounded)."""

    name = "json-file"
    readable = True
    DEFAULTS = {"max-size": "20m", "max-file": "5"}

    def __init__(self) -> None:
        self.codec = jsonfile.JsonCodec()

    def validate(self, config: dict[str, str]) -> dict[str, str]:
        eff = {**self.DEFAULTS, **config}
        if eff.get("max-size") == "-1":  # Dockyard's way to ask for Docker's unbounded file
            eff.pop("max-size")
            eff.pop("max-file", None)
        jsonfile.validate(eff)
        return eff

    def log_path(self, root_dir: str, id: str) -> str:
        return jsonfile.cache_path(root_dir, id)

    def open_writer(self, path: str, config: dict[str, str], info: Info) -> LogWriter:
        return jsonfile.JsonFileWriter(path, config, info)


class LocalDriver(_Readable):
    name = "local"
    readable = True

    def __init__(self) -> None:
        self.codec = local.LocalCodec()

    def validate(self, config: dict[str, str]) -> dict[str, str]:
        local.validate(config)
        return dict(config)

    def log_path(self, root_dir: str, id: str) -> str:
        return local.cache_path(root_dir, id)

    def open_writer(self, path: str, config: dict[str, str], info: Info) -> LogWriter:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return local.LocalWriter(path, config, info)


class NoneDriver:
    name = "none"
    readable = False

    def validate(self, config: dict[str, str]) -> dict[str, str]:
        options.check_known(self.name, config, ())
        return dict(config)

    def log_path(self, root_dir: str, id: str) -> str:
        return ""

    def open_writer(self, path: str, config: dict[str, str], info: Info) -> LogWriter:
        raise NotImplementedYet(NOT_READABLE)

    def reader(self, path: str, tail: int | None = None, since: int = 0, until: int | None = None) -> Reader:
        raise NotImplementedYet(NOT_READABLE)

    def follow(self, cursor: Cursor, running: Callable[[], bool], since: int = 0,
               until: int | None = None) -> AsyncIterator[Entry]:
        raise NotImplementedYet(NOT_READABLE)


class RemoteDriver(_Readable):
    """A driver that sends to a receiver (module: OPTS, validate, open_remote), with a local cache."""

    readable = True

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.name: str = module.NAME
        self.codec = local.LocalCodec()

    def validate(self, config: dict[str, str]) -> dict[str, str]:
        own = {k: v for k, v in config.items() if k not in CACHE_OPTS}
        self.module.validate(own)
        self._cache_config(config)
        return dict(config)

    @staticmethod
    def _cache_config(config: dict[str, str]) -> dict[str, str] | None:
        if options.parse_bool(config.get("cache-disabled", "false")):
            return None
        cache = {k[len("cache-"):]: v for k, v in config.items() if k in CACHE_OPTS and k != "cache-disabled"}
        local.validate(cache)
        return cache

    def log_path(self, root_dir: str, id: str) -> str:
        return local.cache_path(root_dir, id)

    def open_writer(self, path: str, config: dict[str, str], info: Info) -> LogWriter:
        from .remote import RemoteWriter
        cache_cfg = self._cache_config(config)
        cache = None
        if cache_cfg is not None:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            cache = local.LocalWriter(path, cache_cfg, info)
        own = {k: v for k, v in config.items() if k not in CACHE_OPTS}
        fmt, sender = self.module.open_remote(own, info)
        return RemoteWriter(cache, fmt, sender)


BUILTIN: tuple[LogDriver, ...] = (
    JsonFileDriver(), LocalDriver(), NoneDriver(), RemoteDriver(syslog), RemoteDriver(gelf),
    RemoteDriver(fluentd), RemoteDriver(journald))
DEFAULT = JsonFileDriver.name


def names() -> list[str]:
    return [d.name for d in BUILTIN]


def get(name: str) -> LogDriver:
    """The driver called `name` ("" is the default); Docker's message for one not registered."""
    wanted = name or DEFAULT
    for driver in BUILTIN:
        if driver.name == wanted:
            return driver
    raise InvalidParameter(f"failed to create logger: logger: no log driver named '{wanted}' is registered")


def effective(log_config: Any, default_type: str = DEFAULT,
              default_opts: dict[str, str] | None = None) -> dict[str, Any]:
    """HostConfig.LogConfig as the container will use it: the daemon's default type and options
    filled in (its options only for its own type, as Docker merges them), checked by the driver."""
    lc = log_config if isinstance(log_config, dict) else {}
    typ = lc.get("Type") or default_type or DEFAULT
    config = lc.get("Config") or {}
    if not isinstance(config, dict) or not all(isinstance(v, str) for v in config.values()):
        raise InvalidParameter("LogConfig.Config must map option names to strings")
    if typ == default_type and default_opts:
        config = {**default_opts, **config}
    return {"Type": typ, "Config": get(typ).validate(dict(config))}


def open_writer(path: str, log: dict[str, Any] | None) -> LogWriter | None:
    """The supervisor's writer for a container, from what the daemon sent at create (None: no log)."""
    log = log or {"Type": DEFAULT, "Config": {}}
    driver = get(log.get("Type", ""))
    if not path or not driver.readable and driver.name == "none":
        return None
    return driver.open_writer(path, log.get("Config") or {}, Info.from_dict(log.get("Info")))
