"""The syslog driver: RFC 5424 or 3164 messages over unix, udp, tcp or tcp+tls (Docker's options)."""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone
from typing import Callable

from ..errors import InvalidParameter
from . import options
from .options import Info
from .remote import Address, Sender, parse_address, tls_context

NAME = "syslog"
OPTS = ("syslog-address", "syslog-facility", "syslog-tls-ca-cert", "syslog-tls-cert", "syslog-tls-key",
        "syslog-tls-skip-verify", "syslog-format", *options.ATTRS)
FACILITIES = {name: i for i, name in enumerate(
    ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"))}
FACILITIES.update({f"local{i}": 16 + i for i in range(8)})
FORMATS = ("", "rfc3164", "rfc5424", "rfc5424micro")
SCHEMES = ("unix", "unixgram", "tcp", "udp", "tcp+tls")
LOCAL_SOCKETS = ("/dev/log", "/var/run/syslog", "/var/run/log")
INFO, ERR = 6, 3


def address(config: dict[str, str]) -> Address:
    value = config.get("syslog-address", "")
    if not value:  # Go's syslog.Dial("", ""): the local daemon's socket
        path = next((p for p in LOCAL_SOCKETS if os.path.exists(p)), LOCAL_SOCKETS[0])
        return Address("unixgram", path=path)
    try:
        addr = parse_address(value, 514, SCHEMES, "syslog-address")
    except ValueError as e:
        raise InvalidParameter(str(e)) from None
    if addr.scheme == "unix":
        addr.scheme = _unix_kind(addr.path)
    return addr


def _unix_kind(path: str) -> str:
    """rsyslog's /dev/log is a datagram socket; a stream listener is used as one."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
        return "unixgram"
    except OSError as e:
        return "unix" if e.errno == 91 else "unixgram"  # EPROTOTYPE: a stream socket
    finally:
        probe.close()


def validate(config: dict[str, str]) -> dict[str, str]:
    options.check_known(NAME, config, OPTS)
    options.check_attrs(config)
    if config.get("syslog-facility", "daemon") not in FACILITIES:
        raise InvalidParameter("invalid syslog facility")
    if config.get("syslog-format", "") not in FORMATS:
        raise InvalidParameter("Invalid syslog format")
    if "syslog-tls-skip-verify" in config:
        options.parse_bool(config["syslog-tls-skip-verify"])
    if config.get("syslog-address"):
        address(config)
    return dict(config)


def formatter(config: dict[str, str], info: Info, stream_framed: bool) -> Callable[[str, bytes, int, bool], list[bytes]]:
    facility = FACILITIES[config.get("syslog-facility", "daemon")]
    fmt = config.get("syslog-format", "")
    tag = options.tag(config, info).encode()
    host = (info.hostname or socket.gethostname()).encode()
    pid = str(os.getpid()).encode()
    octets = stream_framed and fmt.startswith("rfc5424")  # RFC 5425/6587 octet counting, as Docker frames it

    def format(stream: str, line: bytes, ns: int, partial: bool) -> list[bytes]:
        pri = b"<%d>" % (facility * 8 + (ERR if stream == "stderr" else INFO))
        if fmt.startswith("rfc5424"):
            digits = 6 if fmt == "rfc5424micro" else 0
            ts = _rfc3339(ns, digits).encode()
            msg = pri + b"1 " + ts + b" " + host + b" " + tag + b" " + pid + b" " + tag + b" - " + line
        elif fmt == "rfc3164":
            msg = pri + _stamp(ns) + b" " + host + b" " + tag + b"[" + pid + b"]: " + line
        else:  # Docker's default: the local unix format, no hostname
            msg = pri + _stamp(ns) + b" " + tag + b"[" + pid + b"]: " + line
        if octets:
            return [b"%d " % len(msg) + msg]
        return [msg + b"\n"] if stream_framed else [msg]
    return format


def _stamp(ns: int) -> bytes:
    """Go's time.Stamp ("Jan _2 15:04:05"), local time as syslog daemons expect."""
    t = time.localtime(ns // 1_000_000_000)
    return time.strftime("%b ", t).encode() + b"%2d" % t.tm_mday + time.strftime(" %H:%M:%S", t).encode()


def _rfc3339(ns: int, digits: int) -> str:
    dt = datetime.fromtimestamp(ns / 1e9, timezone.utc).astimezone()
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        base += "." + f"{ns % 1_000_000_000:09d}"[:digits]
    off = dt.strftime("%z")
    return base + (off[:3] + ":" + off[3:] if off not in ("+0000", "") else "Z")


def open_remote(config: dict[str, str], info: Info) -> tuple[Callable[[str, bytes, int, bool], list[bytes]], Sender]:
    addr = address(config)
    tls = None
    if addr.scheme == "tcp+tls":
        tls = tls_context(config.get("syslog-tls-ca-cert", ""), config.get("syslog-tls-cert", ""),
                          config.get("syslog-tls-key", ""),
                          options.parse_bool(config.get("syslog-tls-skip-verify", "false")))
    sender = Sender(f"syslog {info.id[:12]}", addr, options.max_buffer(config), tls)
    return formatter(config, info, not addr.datagram), sender
