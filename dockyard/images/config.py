"""Image configs: the empty container config, `--change` instructions, and import configs."""
from __future__ import annotations

import json
import platform as _platform
import re
import shlex
from typing import Any

from ..errors import InvalidParameter
from .store import now_rfc3339

DOCKER_VERSION = "20.10.24"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}
CHANGE_COMMANDS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL",
                   "USER", "VOLUME", "WORKDIR")
_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}


def empty_container_config() -> dict[str, Any]:
    """container.Config as Docker serialises an empty one (field order kept)."""
    return {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
            "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
            "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
            "OnBuild": None, "Labels": None}


def host_platform() -> tuple[str, str, str]:
    machine = _platform.machine()
    return "linux", _ARCH.get(machine, machine), ""


def parse_platform(value: str | None) -> tuple[str, str, str]:
    """`linux/arm64/v8` -> (os, architecture, variant); empty means the host's."""
    if not value:
        return host_platform()
    parts = value.lower().split("/")
    if len(parts) > 3 or not all(parts):
        raise InvalidParameter(f'"{value}": unknown operating system or architecture: invalid argument')
    os_, arch = parts[0], parts[1] if len(parts) > 1 else host_platform()[1]
    arch = _ARCH.get(arch, arch)
    variant = parts[2] if len(parts) > 2 else ""
    if os_ != "linux":
        raise InvalidParameter(f'"{value}": operating system is not supported')
    return os_, arch, variant


def _json_or_shell(rest: str) -> list[str]:
    try:
        value = json.loads(rest)
    except ValueError:
        return ["/bin/sh", "-c", rest]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return ["/bin/sh", "-c", rest]


def _pairs(instr: str, rest: str) -> list[tuple[str, str]]:
    words = shlex.split(rest)
    if not words:
        raise InvalidParameter(f"{instr} requires at least one argument")
    if "=" not in words[0]:
        # Legacy form: `ENV KEY value with spaces`.
        key, _, value = rest.strip().partition(" ")
        return [(key, value.strip())]
    out = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise InvalidParameter(f"{instr} names can not be blank")
        out.append((key, value))
    return out


def apply_changes(cfg: dict[str, Any], changes: list[str]) -> None:
    """Apply Dockerfile instructions (docker import/commit --change) to a container config."""
    for change in changes:
        instr, _, rest = change.strip().partition(" ")
        instr, rest = instr.upper(), rest.strip()
        if instr not in CHANGE_COMMANDS:
            raise InvalidParameter(f"{instr} is not a valid change command")
        if instr == "CMD":
            cfg["Cmd"] = _json_or_shell(rest)
        elif instr == "ENTRYPOINT":
            cfg["Entrypoint"] = _json_or_shell(rest)
        elif instr == "ENV":
            env = [e for e in (cfg.get("Env") or [])]
            for key, value in _pairs(instr, rest):
                env = [e for e in env if e.partition("=")[0] != key] + [f"{key}={value}"]
            cfg["Env"] = env
        elif instr == "LABEL":
            labels = dict(cfg.get("Labels") or {})
            labels.update(_pairs(instr, rest))
            cfg["Labels"] = labels
        elif instr == "EXPOSE":
            ports = dict(cfg.get("ExposedPorts") or {})
            for p in rest.split():
                port, _, proto = p.partition("/")
                if not port.split("-")[0].isdigit():
                    raise InvalidParameter(f"invalid containerPort: {port}")
                ports[f"{port}/{proto or 'tcp'}"] = {}
            cfg["ExposedPorts"] = ports
        elif instr == "VOLUME":
            vols = dict(cfg.get("Volumes") or {})
            paths = _json_or_shell(rest) if rest.startswith("[") else rest.split()
            for v in paths:
                vols[v] = {}
            cfg["Volumes"] = vols
        elif instr == "WORKDIR":
            cfg["WorkingDir"] = rest
        elif instr == "USER":
            cfg["User"] = rest
        elif instr == "STOPSIGNAL":
            cfg["StopSignal"] = rest
        elif instr == "ONBUILD":
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), rest]
        elif instr == "HEALTHCHECK":
            cfg["Healthcheck"] = _healthcheck(rest)


def _go_duration_ns(flag: str, value: str) -> int:
    """A Go time.Duration ("1m30s", "500ms") in nanoseconds."""
    pos, total = 0, 0.0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_NS[m.group(2)]
        pos = m.end()
    if not value or pos != len(value):
        raise InvalidParameter(f'time: invalid duration "{value}" for flag --{flag}')
    return int(total)


def _healthcheck(rest: str) -> dict[str, Any]:
    """HEALTHCHECK [--interval=D --timeout=D --start-period=D --retries=N] CMD ... | NONE."""
    health: dict[str, Any] = {}
    words = rest.split(None, 1)
    while words and words[0].startswith("--"):
        flag, _, value = words[0][2:].partition("=")
        key = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod"}.get(flag)
        if key is not None:
            health[key] = _go_duration_ns(flag, value)
        elif flag == "retries" and value.isdigit():
            health["Retries"] = int(value)
        else:
            raise InvalidParameter(f"Unknown flag: {flag}" if flag != "retries" else
                                   f"invalid value for --retries: {value}")
        words = words[1].split(None, 1) if len(words) > 1 else []
    kind = words[0].upper() if words else ""
    args = words[1].strip() if len(words) > 1 else ""
    if kind == "NONE":
        if health or args:
            raise InvalidParameter("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise InvalidParameter(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    try:
        test: Any = json.loads(args)
    except ValueError:
        test = None
    if isinstance(test, list) and all(isinstance(v, str) for v in test):
        health["Test"] = ["CMD", *test]
    else:
        health["Test"] = ["CMD-SHELL", args]
    return {"Test": health.pop("Test"), **health}


def import_config(diff_id: str, changes: list[str], message: str, platform: str | None,
                  source: str = "-") -> bytes:
    """The config JSON bytes of `docker import` (its sha256 is the image ID)."""
    os_, arch, variant = parse_platform(platform)
    cfg = empty_container_config()
    apply_changes(cfg, changes)
    created = now_rfc3339()
    comment = message or f"Imported from {source}"
    doc: dict[str, Any] = {"architecture": arch, "comment": comment, "config": cfg,
                           "container_config": empty_container_config(), "created": created,
                           "docker_version": DOCKER_VERSION,
                           "history": [{"created": created, "comment": comment}], "os": os_,
                           "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    if variant:
        doc["variant"] = variant
    return json.dumps(doc, separators=(",", ":")).encode()
