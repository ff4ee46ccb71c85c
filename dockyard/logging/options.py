"""Log options shared by the drivers: sizes, booleans, the tag template, extra attributes, delivery mode."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import InvalidParameter

# Options every driver takes (Docker checks them before the driver's own list).
COMMON = ("mode", "max-buffer-size")
# What labels/env/tag of every driver that records attributes accept.
ATTRS = ("labels", "labels-regex", "env", "env-regex", "tag")
DEFAULT_MAX_BUFFER = 1024 * 1024  # Docker's mode=non-blocking default

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.I)
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}


@dataclass
class Info:
    """What a driver may say about the container besides its output (Docker's logger.Info)."""

    id: str = ""
    name: str = ""
    image_id: str = ""
    image_name: str = ""
    command: str = ""
    created: str = ""
    hostname: str = ""
    daemon_name: str = "docker"
    labels: dict[str, str] = field(default_factory=dict)
    env: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Info":
        known = {k: v for k, v in (d or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


def parse_size(value: str) -> int:
    """Docker's units.FromHumanSize: decimal units (1k = 1000), as json-file and local read max-size."""
    m = _SIZE.match(value)
    if not m:
        raise InvalidParameter(f"invalid size: '{value}'")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_bool(value: str) -> bool:
    """Go's strconv.ParseBool."""
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise InvalidParameter(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidParameter(f'strconv.Atoi: parsing "{value}": invalid syntax') from None


def check_known(driver: str, config: dict[str, str], known: Iterable[str]) -> None:
    """Docker's ValidateLogOpt: the first option the driver does not know is refused."""
    allowed = set(known) | set(COMMON)
    for key in config:
        if key not in allowed:
            raise InvalidParameter(f"unknown log opt '{key}' for {driver} log driver")
    mode = config.get("mode", "blocking")
    if mode not in ("blocking", "non-blocking"):
        raise InvalidParameter(f"logger: unknown log mode '{mode}'")  # Docker's message
    if "max-buffer-size" in config:
        if mode != "non-blocking":
            raise InvalidParameter("logger: max-buffer-size option is only supported with 'mode=non-blocking'")
        parse_size(config["max-buffer-size"])


def max_buffer(config: dict[str, str]) -> int:
    return parse_size(config["max-buffer-size"]) if "max-buffer-size" in config else DEFAULT_MAX_BUFFER


_TAG_FIELDS = {
    "ID": lambda i: i.id[:12], "FullID": lambda i: i.id, "Name": lambda i: i.name,
    "ImageID": lambda i: i.image_id.removeprefix("sha256:")[:12],
    "ImageFullID": lambda i: i.image_id, "ImageName": lambda i: i.image_name,
    "DaemonName": lambda i: i.daemon_name, "Hostname": lambda i: i.hostname,
}
_TAG_RE = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")


def check_tag(template: str) -> None:
    for m in _TAG_RE.finditer(template):
        if m.group(1) not in _TAG_FIELDS:
            raise InvalidParameter(f'template: log-tag:1:2: executing "log-tag" at <.{m.group(1)}>: '
                                   f"can't evaluate field {m.group(1)} in type *logger.Info")


def tag(config: dict[str, str], info: Info, default: str = "{{.ID}}") -> str:
    """Docker's ParseLogTag: the `tag` option (a Go template over the container) or the driver's default."""
    template = config.get("tag", default)
    return _TAG_RE.sub(lambda m: _TAG_FIELDS.get(m.group(1), lambda i: "")(info), template)


def extra_attributes(config: dict[str, str], info: Info) -> dict[str, str]:
    """Docker's Info.ExtraAttributes: the labels and env vars the options name (or match)."""
    out: dict[str, str] = {}
    labels = [k for k in config.get("labels", "").split(",") if k]
    for key in labels:
        if key in info.labels:
            out[key] = info.labels[key]
    if config.get("labels-regex"):
        rx = re.compile(config["labels-regex"])
        out.update({k: v for k, v in info.labels.items() if rx.search(k)})
    env = dict(e.split("=", 1) for e in info.env if "=" in e)
    for key in [k for k in config.get("env", "").split(",") if k]:
        if key in env:
            out[key] = env[key]
    if config.get("env-regex"):
        rx = re.compile(config["env-regex"])
        out.update({k: v for k, v in env.items() if rx.search(k)})
    return out


def check_attrs(config: dict[str, str]) -> None:
    for key in ("labels-regex", "env-regex"):
        if key in config:
            try:
                re.compile(config[key])
            except re.error as e:
                raise InvalidParameter(f"error parsing regexp: {e}") from None
    if "tag" in config:
        check_tag(config["tag"])
