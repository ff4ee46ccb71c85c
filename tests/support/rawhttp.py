"""Raw HTTP requests to a daemon's unix socket, for tests that check status codes and bodies."""
from __future__ import annotations

import http.client
import json
import socket


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def call(d, method: str, path: str, body: bytes | str | dict | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes, dict]:
    """One request to daemon `d` (anything with `.socket`): (status, body, lower-cased headers)."""
    conn = UnixConnection(d.socket, timeout)
    try:
        hdrs = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read(), {k.lower(): v for k, v in r.getheaders()}
    finally:
        conn.close()


def message(body: bytes) -> str:
    """The `message` of a Docker-style JSON error body (asserting it has that shape)."""
    obj = json.loads(body)
    assert isinstance(obj, dict) and isinstance(obj.get("message"), str), body
    return obj["message"]
