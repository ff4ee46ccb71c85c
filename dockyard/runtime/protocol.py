"""Wire formats: daemon <-> supervisor (newline-delimited JSON, binary attach frames) and supervisor <-> keeper."""
from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

# Attach frames: 1 byte kind, 4 bytes big-endian length, payload.
FRAME = struct.Struct(">BI")
STDOUT = 1
STDERR = 2
END = 0            # supervisor -> client: the container's output is closed
STDIN = 3          # client -> supervisor: bytes for the container's stdin
CLOSE_STDIN = 4    # client -> supervisor: EOF on the container's stdin


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    return json.loads(line)


def frame(kind: int, data: bytes = b"") -> bytes:
    return FRAME.pack(kind, len(data)) + data


# Keeper <-> supervisor: one JSON message per SOCK_SEQPACKET packet, fds (SCM_RIGHTS) beside it.
MAX_PACKET = 1 << 16
MAX_FDS = 250  # under the kernel's SCM_MAX_FD (253) per message


def send_packet(sock: "socket.socket", msg: dict[str, Any], fds: list[int] | None = None) -> None:
    """Raises BlockingIOError on a full non-blocking socket (nothing is sent then)."""
    data = json.dumps(msg, separators=(",", ":")).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def recv_packet(sock: "socket.socket") -> tuple[dict[str, Any], list[int]] | None:
    """The next message and the fds that came with it; None at the end of the stream."""
    data, fds, _flags, _addr = socket.recv_fds(sock, MAX_PACKET, MAX_FDS)
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    return json.loads(data), list(fds)
