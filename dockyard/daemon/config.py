"""Daemon configuration: defaults, daemon.json and command-line flags (flags win)."""
from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidParameter

DEFAULT_SOCKET = "unix:///run/dockyard/dockyard.sock"


@dataclass
class Config:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_SOCKET])
    data_root: Path = Path("/var/lib/dockyard")
    exec_root: Path = Path("/run/dockyard")
    log_level: str = "info"
    runtime: str = "builtin"
    storage_driver: str = ""  # "" chooses: the data root's prior driver, else overlay2, else vfs
    cgroup_parent: str = "dockyard"
    default_ulimits: dict = field(default_factory=dict)
    config_file: Path | None = None
    # registry client (daemon.json: insecure-registries, registry-mirrors, max-concurrent-*)
    insecure_registries: list[str] = field(default_factory=list)
    registry_mirrors: list[str] = field(default_factory=list)
    max_concurrent_downloads: int = 3
    max_concurrent_uploads: int = 5
    # where docker.io lives (daemon.json: hub-host); point it elsewhere on air-gapped hosts
    hub_host: str = "registry-1.docker.io"
    # OCI runtimes besides builtin/runc/crun (daemon.json: "runtimes": {"name": {"path": "/usr/bin/x"}})
    runtimes: dict = field(default_factory=dict)
    # the default log driver and its options (daemon.json: log-driver, log-opts)
    log_driver: str = "json-file"
    log_opts: dict = field(default_factory=dict)
    # daemon.json keys we accept but do not act on yet are kept so `info` can echo them
    extra: dict = field(default_factory=dict)

    @property
    def socket_paths(self) -> list[str]:
        return [h[len("unix://"):] for h in self.hosts if h.startswith("unix://")]


_JSON_KEYS = {
    "hosts": "hosts", "data-root": "data_root", "exec-root": "exec_root",
    "log-level": "log_level", "default-runtime": "runtime", "storage-driver": "storage_driver",
    "cgroup-parent": "cgroup_parent", "hub-host": "hub_host",
}


_LIST_KEYS = {"insecure-registries": "insecure_registries", "registry-mirrors": "registry_mirrors"}
_INT_KEYS = {"max-concurrent-downloads": "max_concurrent_downloads",
             "max-concurrent-uploads": "max_concurrent_uploads"}


def _apply_typed(cfg: Config, path: Path, key: str, value: object) -> None:
    if key in _LIST_KEYS:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidParameter(f"unable to configure the daemon with file {path}: "
                                   f"{key} must be an array of strings, not {json.dumps(value)}")
        setattr(cfg, _LIST_KEYS[key], list(value))
    else:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidParameter(f"unable to configure the daemon with file {path}: "
                                   f"{key} must be a positive integer, not {json.dumps(value)}")
        setattr(cfg, _INT_KEYS[key], value)


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="dockyardd", description="Dockyard daemon (Docker Engine API v1.41)")
    p.add_argument("-H", "--host", action="append", dest="hosts",
                   help="daemon socket to listen on (unix:///path)")
    p.add_argument("--data-root", help="root of persistent state (default /var/lib/dockyard)")
    p.add_argument("--exec-root", help="root of run-time state (default /run/dockyard)")
    p.add_argument("--config-file", default=None, help="daemon.json (default /etc/dockyard/daemon.json)")
    p.add_argument("-l", "--log-level", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("--default-runtime", dest="runtime")
    p.add_argument("-s", "--storage-driver", dest="storage_driver",
                   help="storage driver: overlay2 or vfs (default: overlay2 where overlayfs mounts)")
    args = p.parse_args(argv)

    cfg = Config()
    config_file = Path(args.config_file) if args.config_file else Path("/etc/dockyard/daemon.json")
    if args.config_file or config_file.exists():
        _apply_json(cfg, config_file)
        cfg.config_file = config_file
    if args.hosts:
        cfg.hosts = args.hosts
    if args.data_root:
        cfg.data_root = Path(args.data_root)
    if args.exec_root:
        cfg.exec_root = Path(args.exec_root)
    if args.log_level:
        cfg.log_level = args.log_level
    if args.runtime:
        cfg.runtime = args.runtime
    if args.storage_driver:
        cfg.storage_driver = args.storage_driver
    for h in cfg.hosts:
        if not h.startswith("unix://"):
            raise InvalidParameter(f"unsupported host {h!r}: only unix:// sockets for now")
    return cfg


def _apply_json(cfg: Config, path: Path) -> None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidParameter(f"unable to configure the daemon: {path} does not exist") from None
    except ValueError as e:
        raise InvalidParameter(f"unable to configure the daemon with file {path}: {e}") from None
    if not isinstance(data, dict):
        raise InvalidParameter(f"unable to configure the daemon with file {path}: not a JSON object")
    for key, value in data.items():
        if key == "runtimes":
            if not isinstance(value, dict) or not all(isinstance(v, dict) and isinstance(v.get("path", ""), str)
                                                      for v in value.values()):
                raise InvalidParameter(f"unable to configure the daemon with file {path}: runtimes must map "
                                       f"names to {{\"path\": ...}}, not {json.dumps(value)}")
            cfg.runtimes = dict(value)
            continue
        if key in ("log-driver", "log-opts"):
            _apply_log(cfg, path, key, value)
            continue
        if key in _LIST_KEYS or key in _INT_KEYS:
            _apply_typed(cfg, path, key, value)
            continue
        attr = _JSON_KEYS.get(key)
        if attr is not None and not (
                (attr != "hosts" and isinstance(value, str)) or
                (attr == "hosts" and isinstance(value, list) and all(isinstance(h, str) for h in value))):
            want = "an array of strings" if attr == "hosts" else "a string"
            raise InvalidParameter(f"unable to configure the daemon with file {path}: "
                                   f"{key} must be {want}, not {json.dumps(value)}")
        if attr in ("data_root", "exec_root"):
            setattr(cfg, attr, Path(value))
        elif attr:
            setattr(cfg, attr, value)
        else:
            cfg.extra[key] = value


def _apply_log(cfg: Config, path: Path, key: str, value: object) -> None:
    """log-driver and log-opts, checked by the driver when the daemon starts (logging.drivers)."""
    if key == "log-driver":
        if not isinstance(value, str):
            raise InvalidParameter(f"unable to configure the daemon with file {path}: log-driver must be a string")
        cfg.log_driver = value
    elif not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidParameter(f"unable to configure the daemon with file {path}: log-opts must map names to strings")
    else:
        cfg.log_opts = dict(value)
