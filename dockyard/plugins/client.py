"""The plugin client: JSON POSTs to a plugin's unix socket or TCP address, as Docker sends them.

Docker's retry: a call that cannot connect is tried again after 1 s, 2 s, 4 s ... until the
retry window (30 s in Docker) would be exceeded. A plugin that accepted the connection is never
sent the request twice (it may have acted on it). Every call has a timeout, so a plugin that
hangs costs that request its timeout and nothing else.
"""
from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from ..errors import SystemFailure

log = logging.getLogger("dockyard.plugins")

MEDIA_TYPE = "application/vnd.docker.plugins.v1.2+json"


class PluginError(SystemFailure):
    """The plugin answered with an error (its `Err`), or not in the protocol at all."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class PluginUnreachable(PluginError):
    """No connection could be made to the plugin (nothing was sent)."""


@dataclass(frozen=True)
class Timing:
    call_timeout: float = 60.0   # seconds one call may take, connect to last byte
    retry_window: float = 30.0   # seconds of connect retries (Docker's defaultTimeOut)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("plugin", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class PluginClient:
    def __init__(self, addr: str, timing: Timing = Timing(),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """`addr` is unix:///path/to.sock, tcp://host:port or http://host:port."""
        self.addr = addr
        self.timing = timing
        self._sleep = sleep
        parts = urlsplit(addr)
        if parts.scheme == "unix":
            self._path, self._hostport = parts.path, ""
        elif parts.scheme in ("tcp", "http"):
            self._path, self._hostport = "", parts.netloc
        else:
            raise PluginError(f"unsupported plugin address {addr!r}: want unix://, tcp:// or http://")

    def _connection(self) -> http.client.HTTPConnection:
        if self._path:
            return _UnixConnection(self._path, self.timing.call_timeout)
        return http.client.HTTPConnection(self._hostport, timeout=self.timing.call_timeout)

    def call(self, method: str, payload: Any = None, retry: bool = True) -> Any:
        """POST /<method> with `payload` as JSON; the decoded answer. PluginError on an `Err`,
        a bad status, garbage or a timeout; PluginUnreachable when no connection could be made."""
        body = json.dumps(payload if payload is not None else {}).encode()
        start, attempt, waited = time.monotonic(), 0, 0.0
        while True:
            conn = self._connection()
            try:
                try:
                    conn.connect()
                except OSError as e:
                    pause = float(1 << attempt)
                    elapsed = max(time.monotonic() - start, waited)
                    if not retry or elapsed + pause > self.timing.retry_window:
                        raise PluginUnreachable(f"{method}: cannot connect to plugin at {self.addr}: "
                                                f"{e.strerror or e}") from None
                    log.warning("Unable to connect to plugin: %s/%s: %s, retrying in %ss",
                                self.addr, method, e, pause)
                    attempt += 1
                    waited += pause
                    self._sleep(pause)
                    continue
                return self._exchange(conn, method, body)
            finally:
                conn.close()

    def _exchange(self, conn: http.client.HTTPConnection, method: str, body: bytes) -> Any:
        try:
            conn.request("POST", "/" + method, body=body,
                         headers={"Content-Type": MEDIA_TYPE, "Accept": MEDIA_TYPE})
            resp = conn.getresponse()
            raw = resp.read(16 << 20)
        except socket.timeout:
            raise PluginError(f"{method}: plugin at {self.addr} did not answer within "
                              f"{self.timing.call_timeout:g}s") from None
        except (OSError, http.client.HTTPException) as e:
            raise PluginError(f"{method}: plugin at {self.addr} broke the connection: {e or type(e).__name__}") \
                from None
        decoded = _decode(raw)
        if resp.status != 200:
            err = decoded.get("Err") if isinstance(decoded, dict) else None
            text = err if isinstance(err, str) and err else raw.decode("utf-8", "replace").strip()
            raise PluginError(f"{method}: {text}", resp.status)
        if decoded is _GARBAGE:
            raise PluginError(f"{method}: plugin at {self.addr} answered something that is not JSON: "
                              f"{raw[:80]!r}")
        if isinstance(decoded, dict) and isinstance(decoded.get("Err"), str) and decoded["Err"]:
            raise PluginError(f"{method}: {decoded['Err']}")
        return decoded


_GARBAGE = object()


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return _GARBAGE
