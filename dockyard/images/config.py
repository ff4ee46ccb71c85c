"""Image configs: the empty container config, `--change` instructions, and import configs."""
from __future__ import annotations

import json
import platform as _platform
import shlex
from typing import Any

from ..errors import InvalidParameter
from .store import now_rfc3339

DOCKER_VERSION = "20.10.24"
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}
CHANGE_COMMANDS = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER",
                   "VOLUME", "WORKDIR")


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
