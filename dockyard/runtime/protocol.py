"""Wire format between supervisor and client: newline-delimited JSON control messages, binary attach frames."""
from __future__ import annotations

import json
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
