"""The fluentd driver: the Forward protocol's Message mode ([tag, time, record] in msgpack) over tcp or unix."""
from __future__ import annotations

import struct
from typing import Callable

import msgpack

from ..errors import InvalidParameter
from . import options
from .options import Info
from .remote import Address, Sender, parse_address

NAME = "fluentd"
OPTS = ("fluentd-address", "fluentd-async", "fluentd-async-connect", "fluentd-buffer-limit",
        "fluentd-retry-wait", "fluentd-max-retries", "fluentd-sub-second-precision",
        "fluentd-request-ack", *options.ATTRS)
DEFAULT_BUFFER = 1024 * 1024
DEFAULT_RETRIES = 10


def address(value: str) -> Address:
    """Docker's forms: host:port, tcp://host:port, unix:///path (default localhost:24224)."""
    if not value:
        return Address("tcp", "127.0.0.1", 24224)
    if "://" not in value:
        value = "tcp://" + value
    try:
        return parse_address(value, 24224, ("tcp", "unix"), "fluentd-address")
    except ValueError as e:
        raise InvalidParameter(f"invalid fluentd-address {value}: {e}") from None


def _duration(value: str) -> float:
    """Go durations as Docker's fluentd-retry-wait takes them: 1s, 500ms, 2m."""
    for suffix, scale in (("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if value.endswith(suffix) and value[:-len(suffix)].replace(".", "", 1).isdigit():
            return float(value[:-len(suffix)]) * scale
    raise InvalidParameter(f'time: invalid duration "{value}"')


def validate(config: dict[str, str]) -> dict[str, str]:
    options.check_known(NAME, config, OPTS)
    options.check_attrs(config)
    address(config.get("fluentd-address", ""))
    for key in ("fluentd-async", "fluentd-async-connect", "fluentd-sub-second-precision", "fluentd-request-ack"):
        if key in config:
            options.parse_bool(config[key])
    if "fluentd-buffer-limit" in config:
        options.parse_size(config["fluentd-buffer-limit"])
    if "fluentd-retry-wait" in config:
        _duration(config["fluentd-retry-wait"])
    if "fluentd-max-retries" in config:
        options.parse_int("fluentd-max-retries", config["fluentd-max-retries"])
    return dict(config)


def open_remote(config: dict[str, str], info: Info) -> tuple[Callable[[str, bytes, int, bool], list[bytes]], Sender]:
    addr = address(config.get("fluentd-address", ""))
    tag = options.tag(config, info)
    extra = options.extra_attributes(config, info)
    subsecond = options.parse_bool(config.get("fluentd-sub-second-precision", "false"))
    packer = msgpack.Packer()

    def format(stream: str, line: bytes, ns: int, partial: bool) -> list[bytes]:
        record = {"container_id": info.id, "container_name": "/" + info.name, "source": stream,
                  "log": line.decode("utf-8", "replace"), **extra}
        if partial:
            record["partial_message"] = "true"
        sec, frac = divmod(ns, 1_000_000_000)
        when = msgpack.ExtType(0, struct.pack(">II", sec, frac)) if subsecond else sec  # EventTime
        return [packer.pack([tag, when, record])]

    limit = options.parse_size(config["fluentd-buffer-limit"]) if "fluentd-buffer-limit" in config \
        else options.max_buffer(config) if "max-buffer-size" in config else DEFAULT_BUFFER
    wait = _duration(config.get("fluentd-retry-wait", "1s"))
    retries = int(config.get("fluentd-max-retries", str(DEFAULT_RETRIES)))
    return format, Sender(f"fluentd {info.id[:12]}", addr, limit, retry_wait=wait, max_retries=retries)
