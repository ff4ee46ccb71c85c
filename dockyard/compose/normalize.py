"""The canonical form of a service: every short syntax (ports, volumes, env, depends_on, ...) in its long form."""
from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from dockyard.compose.errors import ComposeError

Service = dict[str, Any]


def as_dict(value: Any, sep: str = "=") -> dict[str, Any]:
    """A list of `k=v` (or `k` alone: None) or a mapping, as a mapping of strings."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): (None if v is None else _scalar(v)) for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in value:
        key, found, val = str(item).partition(sep)
        out[key.strip() if sep != "=" else key] = val if found else None
    return out


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def split_command(value: Any) -> list[str] | None:
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _port_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    try:
        start, end = int(lo), int(hi or lo)
    except ValueError:
        raise ComposeError(f"invalid port {text!r}") from None
    return list(range(start, end + 1))


def port(spec: Any) -> list[dict[str, Any]]:
    """One ports entry (short `[ip:][host:]container[/proto]`, ranges, or long) as long entries."""
    if isinstance(spec, dict):
        long = {"mode": "ingress", "protocol": "tcp", **spec, "target": int(spec["target"])}
        if long.get("published") is not None:
            long["published"] = str(long["published"])
        return [long]
    text, _, proto = str(spec).partition("/")
    host_ip = ""
    if text.startswith("["):  # [::1]:8080:80
        end = text.index("]")
        host_ip, text = text[1:end], text[end + 2:]
    parts = text.split(":")
    if len(parts) == 3:
        host_ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    else:
        published, target = "", parts[0]
    targets = _port_range(target)
    publics: list[str] = [str(p) for p in _port_range(published)] if published else []
    if publics and len(publics) != len(targets):
        if len(targets) == 1:  # a host range for one container port: any port of the range
            publics = [published]
        else:
            raise ComposeError(f"invalid port range {spec!r}: host and container ranges differ in size")
    out = []
    for n, t in enumerate(targets):
        entry: dict[str, Any] = {"mode": "ingress", "target": t, "protocol": proto or "tcp"}
        if publics:
            entry["published"] = publics[n] if len(publics) > 1 else publics[0]
        if host_ip:
            entry["host_ip"] = host_ip
        out.append(entry)
    return out


def volume(spec: Any, base: Path) -> dict[str, Any]:
    """One service volumes entry as the long syntax; bind sources made absolute against `base`."""
    if isinstance(spec, dict):
        entry = dict(spec)
    else:
        parts = str(spec).split(":")
        if len(parts) == 1:
            return {"type": "volume", "target": parts[0], "volume": {}}
        source, target = parts[0], parts[1]
        mode = parts[2] if len(parts) > 2 else ""
        is_path = source.startswith((".", "/", "~"))
        entry = {"type": "bind" if is_path else "volume", "source": source, "target": target}
        flags = mode.split(",") if mode else []
        if "ro" in flags:
            entry["read_only"] = True
        if is_path:
            entry["bind"] = {"create_host_path": True}
            for flag in flags:
                if flag in ("z", "Z"):
                    entry["bind"]["selinux"] = flag
                elif flag in ("shared", "slave", "private", "rshared", "rslave", "rprivate"):
                    entry["bind"]["propagation"] = flag
        else:
            entry["volume"] = {"nocopy": True} if "nocopy" in flags else {}
    if entry.get("type") == "bind" and entry.get("source"):
        entry["source"] = str(resolve_path(str(entry["source"]), base))
    return entry


def resolve_path(path: str, base: Path) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else (base / p).resolve()


def _depends_on(value: Any) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):
        return {str(name): {"condition": "service_started", "required": True} for name in value}
    out = {}
    for name, dep in (value or {}).items():
        dep = dict(dep or {})
        dep.setdefault("condition", "service_started")
        dep.setdefault("required", True)
        out[str(name)] = dep
    return out


def _networks(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(n): None for n in value}
    return {str(k): (dict(v) if v else None) for k, v in (value or {}).items()}


def _ulimits(value: Any) -> dict[str, dict[str, int]]:
    out = {}
    for name, limit in (value or {}).items():
        out[name] = ({"soft": int(limit), "hard": int(limit)} if not isinstance(limit, dict)
                     else {"soft": int(limit["soft"]), "hard": int(limit["hard"])})
    return out


def _file_refs(value: Any, kind: str) -> list[dict[str, Any]]:
    out = []
    for ref in _list(value):
        entry: dict[str, Any] = {"source": ref} if isinstance(ref, str) else dict(ref)
        if kind == "secrets":
            entry.setdefault("target", f"/run/secrets/{entry['source']}")
        else:
            entry.setdefault("target", f"/{entry['source']}")
        out.append(entry)
    return out


def build(value: Any, base: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"context": value} if isinstance(value, str) else dict(value)
    entry.setdefault("context", ".")
    context = str(entry["context"])
    if "://" not in context and not context.startswith("git@"):
        entry["context"] = str(resolve_path(context, base))
    entry.setdefault("dockerfile", "Dockerfile")
    if "args" in entry:
        entry["args"] = as_dict(entry["args"])
    if "labels" in entry:
        entry["labels"] = as_dict(entry["labels"])
    return entry


def service(name: str, raw: dict[str, Any], base: Path) -> Service:
    """Normalise one service as written in one file (relative paths against `base`)."""
    svc: Service = {k: v for k, v in raw.items()}
    for key in ("environment", "labels", "annotations", "sysctls"):
        if key in svc:
            svc[key] = as_dict(svc[key])
    if "extra_hosts" in svc:
        hosts = svc["extra_hosts"]
        if isinstance(hosts, dict):
            svc["extra_hosts"] = [f"{k}:{v}" for k, v in hosts.items()]
        else:
            svc["extra_hosts"] = [str(h).replace("=", ":", 1) for h in hosts]
    for key in ("command", "entrypoint"):
        if key in svc and svc[key] is not None:
            svc[key] = split_command(svc[key])
    if "ports" in svc:
        svc["ports"] = [p for spec in svc["ports"] for p in port(spec)]
    if "expose" in svc:
        svc["expose"] = [str(e) for e in svc["expose"]]
    if "volumes" in svc:
        svc["volumes"] = [volume(v, base) for v in svc["volumes"]]
    if "depends_on" in svc:
        svc["depends_on"] = _depends_on(svc["depends_on"])
    if "networks" in svc:
        svc["networks"] = _networks(svc["networks"])
    if "ulimits" in svc:
        svc["ulimits"] = _ulimits(svc["ulimits"])
    for key in ("dns", "dns_search", "tmpfs", "cap_add", "cap_drop", "profiles", "security_opt"):
        if key in svc:
            svc[key] = [str(v) for v in _list(svc[key])]
    for key in ("secrets", "configs"):
        if key in svc:
            svc[key] = _file_refs(svc[key], key)
    if "env_file" in svc:
        svc["env_file"] = [{"path": str(resolve_path(e if isinstance(e, str) else e["path"], base)),
                            "required": True if isinstance(e, str) else e.get("required", True)}
                           for e in _list(svc["env_file"])]
    if "build" in svc:
        svc["build"] = build(svc["build"], base)
    hc = svc.get("healthcheck")
    if hc and isinstance(hc.get("test"), str):
        hc["test"] = ["CMD-SHELL", hc["test"]]
    return svc
