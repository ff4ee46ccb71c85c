"""Detach keys (`ctrl-p,ctrl-q` by default): parsing Docker's notation and spotting the sequence in stdin."""
from __future__ import annotations

from .. import errors

DEFAULT = "ctrl-p,ctrl-q"


def parse(spec: str) -> bytes:
    """Docker's notation: comma-separated keys, each one character or `ctrl-<a-z @ [ \\ ] ^ _>`."""
    out = bytearray()
    for key in spec.split(","):
        k = key.strip()
        if len(k) == 1:
            out.append(ord(k))
        elif k.lower().startswith("ctrl-") and len(k) == 6:
            c = k[5].lower()
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in "@[\\]^_":
                out.append({"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}[c])
            else:
                raise errors.InvalidParameter(f"Invalid detach keys ({spec}) provided")
        else:
            raise errors.InvalidParameter(f"Invalid detach keys ({spec}) provided")
    if not out:
        raise errors.InvalidParameter(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


class Scanner:
    """Feeds stdin through; holds back a partial match, and reports when the whole sequence was typed.

    `feed(data)` returns (bytes to pass on, detached?). Bytes before the sequence are passed on;
    a partial match that then breaks is released, as Docker's escape proxy does.
    """

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if not self.keys:
            return data, False
        out = bytearray()
        for b in data:
            candidate = self.held + bytes([b])
            if self.keys.startswith(candidate):
                self.held = candidate
                if candidate == self.keys:
                    self.held = b""
                    return bytes(out), True
            else:
                out += self.held
                self.held = b""
                if self.keys.startswith(bytes([b])):
                    self.held = bytes([b])
                else:
                    out.append(b)
        return bytes(out), False
