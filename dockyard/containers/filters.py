"""`GET /containers/json` filters with Docker 20.10's meaning, validation and messages."""
from __future__ import annotations

import re
from typing import Any, Callable

from .. import errors
from . import health as healthlib
from .model import Container

ACCEPTED = ("ancestor", "before", "exited", "health", "id", "isolation", "is-task", "label",
            "name", "network", "publish", "expose", "since", "status", "volume")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def values(v: Any) -> list[str]:
    """Filter values, from the map form {"v": true} or the list form ["v"]."""
    return list(v.keys()) if isinstance(v, dict) else list(v) if isinstance(v, list) else [str(v)]


def label_match(labels: dict[str, str], wanted: list[str]) -> bool:
    """Every `key` or `key=value` is present (Docker: all label filters must match)."""
    for w in wanted:
        k, eq, val = w.partition("=")
        if k not in labels or (eq and labels[k] != val):
            return False
    return True


def regex_match(patterns: list[str], subject: str) -> bool:
    """Docker's filters.Match: any pattern matches as a regular expression (search)."""
    for p in patterns:
        try:
            if re.search(p, subject):
                return True
        except re.error:
            if p in subject:
                return True
    return False


def _ports(c: Container, published: bool) -> set[str]:
    if published:
        return {f"{b['container_port']}/{b['proto']}"
                for b in (c.network_settings.get("Published") or [])}
    return {k if "/" in k else f"{k}/tcp" for k in (c.config.get("ExposedPorts") or {})}


def _port_match(c: Container, wanted: list[str], published: bool) -> bool:
    have = _ports(c, published)
    return any((w if "/" in w else f"{w}/tcp") in have for w in wanted)


def _volume_match(c: Container, wanted: list[str]) -> bool:
    for m in c.mounts:
        if {m.get("Name"), m.get("Destination"), m.get("Source")} & set(wanted):
            return True
    return False


def _network_match(c: Container, wanted: list[str]) -> bool:
    nets = c.network_settings.get("Networks") or {}
    for name, ep in nets.items():
        nid = (ep or {}).get("NetworkID") or ""
        if any(w == name or (w and nid.startswith(w)) for w in wanted):
            return True
    return False


def validate(filters: dict[str, Any]) -> dict[str, list[str]]:
    """The filters as lists, refused as Docker refuses them (key, status, health, exited)."""
    out = {k: values(v) for k, v in filters.items()}
    for key, vals in out.items():
        if key not in ACCEPTED:
            raise errors.InvalidParameter(f"Invalid filter '{key}'")
        if key == "status":
            bad = [v for v in vals if v not in STATUSES]
            if bad:
                raise errors.InvalidParameter(f"Invalid filter 'status={bad[0]}'")
        if key == "health":
            bad = [v for v in vals if v not in healthlib.FILTER_VALUES]
            if bad:
                raise errors.InvalidParameter(f"Unrecognised filter value for health: {bad[0]}")
        if key == "exited":
            for v in vals:
                if not re.fullmatch(r"-?\d+", v):
                    raise errors.SystemFailure(f'strconv.Atoi: parsing "{v}": invalid syntax')
    return out


def matcher(filters: dict[str, list[str]], all_: list[Container],
            image_id_of: Callable[[str], str | None]) -> Callable[[Container], bool]:
    """A predicate for one request: references (before/since/ancestor) resolved once."""
    def ref(key: str) -> Container | None:
        if key not in filters:
            return None
        v = filters[key][0]
        found = next((x for x in all_ if x.id == v or x.name == v.lstrip("/")), None) or next(
            (x for x in all_ if x.id.startswith(v)), None)
        if found is None:
            raise errors.SystemFailure(f"no such container {v}")  # Docker 20.10 answers 500
        return found
    before, since = ref("before"), ref("since")
    ancestors = {i for i in (image_id_of(v) for v in filters.get("ancestor", [])) if i}

    def ok(c: Container) -> bool:
        f = filters
        checks = [
            ("status", lambda: c.state.status in f["status"]),
            ("id", lambda: any(c.id.startswith(v) for v in f["id"])),
            # Docker tries the name with its slash, then without: ^/web$ and ^web both match
            ("name", lambda: regex_match(f["name"], "/" + c.name) or regex_match(f["name"], c.name)),
            ("exited", lambda: c.state.status == "exited"
             and c.state.exit_code in {int(v) for v in f["exited"]}),
            ("label", lambda: label_match(c.config.get("Labels") or {}, f["label"])),
            ("ancestor", lambda: c.image_id in ancestors),
            ("before", lambda: before is not None and c.created < before.created),
            ("since", lambda: since is not None and c.created > since.created),
            ("health", lambda: healthlib.status_of(c) in f["health"]),
            ("volume", lambda: _volume_match(c, f["volume"])),
            ("network", lambda: _network_match(c, f["network"])),
            ("publish", lambda: _port_match(c, f["publish"], True)),
            ("expose", lambda: _port_match(c, f["expose"], False)),
            ("is-task", lambda: "true" not in f["is-task"]),
        ]
        return all(check() for key, check in checks if key in f)
    return ok
