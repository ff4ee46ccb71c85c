"""The gelf driver: GELF 1.1 messages over udp (chunked, gzip or zlib) or tcp (null-terminated)."""
from __future__ import annotations

import os
import socket
import zlib
from typing import Callable

import orjson

from ..errors import InvalidParameter
from . import options
from .options import Info
from .remote import Sender, parse_address

NAME = "gelf"
OPTS = ("gelf-address", "gelf-compression-type", "gelf-compression-level", "gelf-tcp-max-reconnect",
        "gelf-tcp-reconnect-delay", *options.ATTRS)
CHUNK = 1420         # Docker's gelf writer: a chunk fits one Ethernet frame
MAX_CHUNKS = 128     # GELF's limit; a bigger message is dropped
MAGIC = b"\x1e\x0f"


def validate(config: dict[str, str]) -> dict[str, str]:
    options.check_known(NAME, config, OPTS)
    options.check_attrs(config)
    if not config.get("gelf-address"):
        raise InvalidParameter("gelf-address is a required parameter")
    try:
        parse_address(config["gelf-address"], 12201, ("udp", "tcp"), "gelf-address")
    except ValueError as e:
        raise InvalidParameter(str(e)) from None
    if config.get("gelf-compression-type", "gzip") not in ("gzip", "zlib", "none"):
        raise InvalidParameter("Unknown gelf compression type")
    level = options.parse_int("gelf-compression-level", config.get("gelf-compression-level", "1"))
    if not -1 <= level <= 9:
        raise InvalidParameter("gelf-compression-level must be between -1 and 9")
    for key in ("gelf-tcp-max-reconnect", "gelf-tcp-reconnect-delay"):
        if key in config and options.parse_int(key, config[key]) < 0:
            raise InvalidParameter(f"{key} must be a positive integer")
    return dict(config)


def open_remote(config: dict[str, str], info: Info) -> tuple[Callable[[str, bytes, int, bool], list[bytes]], Sender]:
    addr = parse_address(config["gelf-address"], 12201, ("udp", "tcp"), "gelf-address")
    host = info.hostname or socket.gethostname()
    base = {"version": "1.1", "host": host, "_container_id": info.id, "_container_name": info.name,
            "_image_id": info.image_id, "_image_name": info.image_name, "_command": info.command,
            "_tag": options.tag(config, info), "_created": info.created}
    base.update({"_" + k: v for k, v in options.extra_attributes(config, info).items()})
    kind = config.get("gelf-compression-type", "gzip")
    level = int(config.get("gelf-compression-level", "1"))
    udp = addr.scheme == "udp"

    def format(stream: str, line: bytes, ns: int, partial: bool) -> list[bytes]:
        msg = {**base, "short_message": line.decode("utf-8", "replace"), "timestamp": ns / 1e9,
               "level": 3 if stream == "stderr" else 6}
        body = orjson.dumps(msg)
        if not udp:
            return [body + b"\0"]  # GELF over tcp: uncompressed, null-terminated
        if kind == "gzip":
            z = zlib.compressobj(level, zlib.DEFLATED, 31)
            body = z.compress(body) + z.flush()
        elif kind == "zlib":
            body = zlib.compress(body, level)
        return chunks(body)

    retries = int(config.get("gelf-tcp-max-reconnect", "3"))
    delay = float(config.get("gelf-tcp-reconnect-delay", "1"))
    return format, Sender(f"gelf {info.id[:12]}", addr, options.max_buffer(config),
                          retry_wait=delay, max_retries=retries)


def chunks(body: bytes) -> list[bytes]:
    """GELF chunking: magic, an 8-byte message id, sequence number and count, then the slice."""
    if len(body) <= CHUNK:
        return [body]
    n = (len(body) + CHUNK - 1) // CHUNK
    if n > MAX_CHUNKS:
        return []
    mid = os.urandom(8)
    return [MAGIC + mid + bytes((i, n)) + body[i * CHUNK:(i + 1) * CHUNK] for i in range(n)]
