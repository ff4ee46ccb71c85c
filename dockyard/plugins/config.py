"""The daemon.json keys of the plugin system (kept in the daemon config's `extra`):

  "plugin-socket-dirs": ["/run/docker/plugins", ...]   where `.sock` files are looked for
  "plugin-spec-dirs":   ["/etc/docker/plugins", ...]   where `.spec` / `.json` files are looked for
  "plugin-timeout":     60                             seconds one plugin call may take
  "plugin-retry-timeout": 30                           seconds of connect retries (Docker's 30)
  "authorization-plugins": ["name", ...]               Docker's key, as --authorization-plugin
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import InvalidParameter
from .client import Timing
from .discovery import Dirs


@dataclass(frozen=True)
class PluginConfig:
    dirs: Dirs
    timing: Timing
    authz: tuple[str, ...]


def from_daemon_json(extra: Mapping[str, Any], authz_flags: list[str] | None = None) -> PluginConfig:
    defaults = Dirs()
    dirs = Dirs(sockets=_strings(extra, "plugin-socket-dirs", defaults.sockets),
                specs=_strings(extra, "plugin-spec-dirs", defaults.specs))
    timing = Timing(call_timeout=_seconds(extra, "plugin-timeout", Timing.call_timeout),
                    retry_window=_seconds(extra, "plugin-retry-timeout", Timing.retry_window))
    authz = _strings(extra, "authorization-plugins", ()) + tuple(authz_flags or ())
    return PluginConfig(dirs, timing, tuple(dict.fromkeys(authz)))


def _strings(extra: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = extra.get(key)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"daemon.json: {key} must be an array of strings, not {value!r}")
    return tuple(value)


def _seconds(extra: Mapping[str, Any], key: str, default: float) -> float:
    value = extra.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidParameter(f"daemon.json: {key} must be a positive number of seconds, not {value!r}")
    return float(value)
