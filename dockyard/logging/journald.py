"""The journald driver: journald's native protocol (KEY=value datagrams) to /run/systemd/journal/socket."""
from __future__ import annotations

import array
import os
import re
import socket
import struct
from typing import Callable

from . import options
from .options import Info
from .remote import Address, Sender

NAME = "journald"
OPTS = options.ATTRS
SOCKET = "/run/systemd/journal/socket"
_KEY = re.compile(r"[^A-Z0-9_]")


def validate(config: dict[str, str]) -> dict[str, str]:
    options.check_known(NAME, config, OPTS)
    options.check_attrs(config)
    return dict(config)


def field(key: str, value: bytes) -> bytes:
    """One field: KEY=value, or the binary-safe form (KEY, newline, le64 length, value) for multi-line values."""
    k = key.encode()
    if b"\n" in value:
        return k + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
    return k + b"=" + value + b"\n"


def _key(name: str) -> str:
    """Journal field names: upper case letters, digits and underscores, not starting with one."""
    return _KEY.sub("_", name.upper()).lstrip("_") or "X"


class JournalSender(Sender):
    """Datagrams to journald; one too big for a datagram goes in a sealed memfd, as sd_journal_send does."""

    def _send_datagram(self, frame: bytes) -> None:
        try:
            super_sock = self._sock
            if super_sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
            assert self._sock is not None
            try:
                self._sock.sendto(frame, self.addr.path)
            except OSError as e:
                if e.errno not in (90, 105):  # EMSGSIZE, ENOBUFS: too big for a datagram
                    raise
                fd = os.memfd_create("journal-entry", os.MFD_CLOEXEC)
                try:
                    os.write(fd, frame)
                    self._sock.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))],
                                       0, self.addr.path)
                finally:
                    os.close(fd)
            self.sent += 1
        except OSError:
            self._drop(1)


def open_remote(config: dict[str, str], info: Info, path: str = SOCKET) -> tuple[Callable[[str, bytes, int, bool], list[bytes]], Sender]:
    tag = options.tag(config, info).encode()
    fixed = b"".join([
        field("CONTAINER_ID", info.id[:12].encode()), field("CONTAINER_ID_FULL", info.id.encode()),
        field("CONTAINER_NAME", info.name.encode()), field("CONTAINER_TAG", tag),
        field("IMAGE_NAME", info.image_name.encode()), field("SYSLOG_IDENTIFIER", tag),
        *[field(_key(k), v.encode()) for k, v in options.extra_attributes(config, info).items()]])

    def format(stream: str, line: bytes, ns: int, partial: bool) -> list[bytes]:
        prio = b"3" if stream == "stderr" else b"6"
        extra = field("CONTAINER_PARTIAL_MESSAGE", b"true") if partial else b""
        return [field("MESSAGE", line) + field("PRIORITY", prio) + extra + fixed]
    sock = os.environ.get("DOCKYARD_JOURNAL_SOCKET", path)
    return format, JournalSender(f"journald {info.id[:12]}", Address("unixgram", path=sock),
                                 options.max_buffer(config))
