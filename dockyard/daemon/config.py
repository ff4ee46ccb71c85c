"""Daemon configuration: defaults, daemon.json and command-line flags (flags win)."""
from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidParameter
from ..snapshots.limits import UnpackLimits, parse_size

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
    # the remote API (daemon.json: tls, tlsverify, tlscacert, tlscert, tlskey); None: not given,
    # which matters for plain TCP on a non-loopback address (refused unless one is set explicitly)
    tls: bool | None = None
    tlsverify: bool | None = None
    tlscacert: str | None = None
    tlscert: str | None = None
    tlskey: str | None = None
    # slow and idle API clients (daemon.json: http-idle-timeout, http-header-timeout, seconds)
    http_idle_timeout: float = 120.0
    http_header_timeout: float = 60.0
    # what one archive may unpack to (daemon.json: max-unpack-size, max-unpack-ratio, unpack-ratio-threshold)
    unpack_limits: UnpackLimits = field(default_factory=UnpackLimits)
    # --authorization-plugin (daemon.json's authorization-plugins is read by plugins/config.py)
    authorization_plugins: list[str] = field(default_factory=list)
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
                   help="daemon socket(s) to listen on: unix:///path, tcp://ADDR:PORT (repeatable)")
    for flag in ("tls", "tlsverify"):
        p.add_argument(f"--{flag}", nargs="?", const="true", metavar="BOOL",
                       help="use TLS" if flag == "tls" else "use TLS and require client certificates signed by --tlscacert")
    for flag, what in (("tlscacert", "CA"), ("tlscert", "certificate"), ("tlskey", "key")):
        p.add_argument(f"--{flag}", help=f"TLS {what} file (default $DOCKER_CERT_PATH or ~/.docker)")
    p.add_argument("--data-root", help="root of persistent state (default /var/lib/dockyard)")
    p.add_argument("--exec-root", help="root of run-time state (default /run/dockyard)")
    p.add_argument("--config-file", default=None, help="daemon.json (default /etc/dockyard/daemon.json)")
    p.add_argument("-l", "--log-level", choices=["debug", "info", "warn", "error", "fatal"])
    p.add_argument("--default-runtime", dest="runtime")
    p.add_argument("-s", "--storage-driver", dest="storage_driver",
                   help="storage driver: overlay2 or vfs (default: overlay2 where overlayfs mounts)")
    p.add_argument("--max-unpack-size", help="most bytes one image layer or archive may unpack to (default 64g)")
    p.add_argument("--max-unpack-ratio", help="most unpacked bytes per compressed byte past "
                   "unpack-ratio-threshold (default 100)")
    p.add_argument("--authorization-plugin", action="append", dest="authorization_plugins",
                   default=[], help="authorization plugin to consult on every API request")
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
    for flag in ("tls", "tlsverify"):
        if getattr(args, flag) is not None:
            setattr(cfg, flag, _flag_bool(flag, getattr(args, flag)))
    for flag in ("tlscacert", "tlscert", "tlskey"):
        if getattr(args, flag):
            setattr(cfg, flag, getattr(args, flag))
    for key, value in (("max-unpack-size", args.max_unpack_size), ("max-unpack-ratio", args.max_unpack_ratio)):
        if value is not None:
            _set_limit(cfg, f"--{key}", key, value)
    cfg.authorization_plugins = list(args.authorization_plugins)
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
        if key in ("tls", "tlsverify"):
            if not isinstance(value, bool):
                raise InvalidParameter(f"unable to configure the daemon with file {path}: "
                                       f"{key} must be true or false, not {json.dumps(value)}")
            setattr(cfg, key, value)
            continue
        if key in ("tlscacert", "tlscert", "tlskey"):
            if not isinstance(value, str):
                raise InvalidParameter(f"unable to configure the daemon with file {path}: "
                                       f"{key} must be a string, not {json.dumps(value)}")
            setattr(cfg, key, value)
            continue
        if key in ("http-idle-timeout", "http-header-timeout"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidParameter(f"unable to configure the daemon with file {path}: "
                                       f"{key} must be a positive number of seconds, not {json.dumps(value)}")
            setattr(cfg, key.replace("-", "_"), float(value))
            continue
        if key in _LIMIT_KEYS:
            _set_limit(cfg, f"file {path}", key, value)
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


_LIMIT_KEYS = {"max-unpack-size": "max_size", "max-unpack-ratio": "max_ratio",
               "unpack-ratio-threshold": "ratio_threshold"}


def _set_limit(cfg: Config, where: str, key: str, value: object) -> None:
    """A size ("64g", or bytes) or, for the ratio, a positive number; from daemon.json or a flag."""
    try:
        if key == "max-unpack-ratio":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)) or float(value) <= 0:
                raise ValueError
            parsed: float | int = float(value)
        else:
            if not isinstance(value, (int, str)):
                raise ValueError
            parsed = parse_size(value)
    except ValueError:
        want = "a positive number" if key == "max-unpack-ratio" else 'a size such as "64g" or a number of bytes'
        raise InvalidParameter(f"unable to configure the daemon with {where}: {key} must be {want}, "
                               f"not {json.dumps(value)}") from None
    cfg.unpack_limits = dataclasses.replace(cfg.unpack_limits, **{_LIMIT_KEYS[key]: parsed})  # type: ignore[arg-type]


def _flag_bool(flag: str, value: str) -> bool:
    """Go's strconv.ParseBool, as `--tls=false` is parsed by dockerd."""
    lowered = value.lower()
    if lowered in ("1", "t", "true"):
        return True
    if lowered in ("0", "f", "false"):
        return False
    raise InvalidParameter(f'invalid argument "{value}" for "--{flag}" flag: parse error')
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
