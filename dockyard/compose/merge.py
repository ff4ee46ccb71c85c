"""Merging compose files (and `extends`) by the specification's rules, on normalised services."""
from __future__ import annotations

import copy
from typing import Any, Callable

# sequences an override replaces outright
_REPLACE = {"command", "entrypoint"}
# sequences merged by a key: a later entry with the same key replaces the earlier one
_KEYED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "ports": lambda p: (p.get("host_ip", ""), p.get("published"), p["target"], p.get("protocol", "tcp")),
    "volumes": lambda v: v["target"],
    "secrets": lambda s: s["target"],
    "configs": lambda c: c["target"],
    "env_file": lambda e: e["path"],
}


def _unique(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _keyed(base: list[dict[str, Any]], over: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any]) -> list[Any]:
    merged = {key(item): item for item in base}
    for item in over:
        merged[key(item)] = item
    return list(merged.values())


def merge_mapping(base: dict[str, Any], over: dict[str, Any], path: str = "") -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        here = f"{path}.{key}" if path else key
        old = out.get(key)
        if key in _REPLACE or path == "healthcheck" and key == "test":
            out[key] = copy.deepcopy(value)
        elif isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_mapping(old, value, here)
        elif isinstance(old, list) and isinstance(value, list):
            if not path and key in _KEYED:
                out[key] = _keyed(old, value, _KEYED[key])
            else:
                out[key] = _unique(old + value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_service(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`; `build`/`image` are kept apart as Compose does only via mapping merge."""
    return merge_mapping(base, over)


def merge_files(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Two whole (normalised) compose files: services by service, other sections mapping-merged."""
    out = copy.deepcopy(base)
    for section, value in over.items():
        if section == "services":
            services = out.setdefault("services", {})
            for name, svc in (value or {}).items():
                services[name] = merge_service(services[name], svc) if name in services else copy.deepcopy(svc)
        elif isinstance(value, dict) and isinstance(out.get(section), dict):
            out[section] = merge_mapping(out[section], value, section)
        else:
            out[section] = copy.deepcopy(value)
    return out
