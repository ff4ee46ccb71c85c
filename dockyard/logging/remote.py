"""Delivery to a remote receiver that never blocks the container: a bounded buffer drained from the loop.

A slow or dead receiver costs dropped messages, never a stalled container: what does not fit
in `max-buffer-size` is dropped and the count is logged (Docker's mode=non-blocking). Datagram
receivers (udp, unixgram) are sent to at once from a non-blocking socket; stream receivers
(tcp, tcp+tls, unix) get a task that connects, retries with a delay and writes.
"""
from __future__ import annotations

import asyncio
import collections
import errno
import logging
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("dockyard.logging")
REPORT_EVERY = 5.0  # seconds between two reports of drops for one container
CLOSE_GRACE = 5.0   # how long a closed writer keeps draining to its receiver


@dataclass
class Address:
    scheme: str   # tcp | tcp+tls | udp | unix | unixgram
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def datagram(self) -> bool:
        return self.scheme in ("udp", "unixgram")


def parse_address(value: str, default_port: int, schemes: tuple[str, ...], what: str) -> Address:
    """`scheme://host:port` or `unix:///path`; the error names the option as Docker does."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError(f"{what}: missing scheme in '{value}'")
    if scheme not in schemes:
        raise ValueError(f"unsupported scheme: '{scheme}'")
    if scheme in ("unix", "unixgram"):
        if not rest:
            raise ValueError(f"{what}: a unix address needs a path")
        return Address(scheme, path=rest)
    u = urllib.parse.urlsplit(value)
    try:
        port = u.port
    except ValueError:
        raise ValueError(f"{what}: invalid port in '{value}'") from None
    if not u.hostname:
        raise ValueError(f"{what}: missing host in '{value}'")
    return Address(scheme, u.hostname, port or default_port)


class Sender:
    """Frames to one receiver; `send` never blocks and never raises."""

    def __init__(self, name: str, addr: Address, max_buffer: int, tls: ssl.SSLContext | None = None,
                 retry_wait: float = 1.0, max_retries: int = -1,
                 on_connect: Callable[[], None] | None = None) -> None:
        self.name, self.addr, self.max_buffer, self.tls = name, addr, max_buffer, tls
        self.retry_wait, self.max_retries = retry_wait, max_retries
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued = 0
        self.dropped = 0
        self.sent = 0
        self._reported = 0.0
        self._closing = False
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._gave_up = False

    # -- the writer's side -------------------------------------------------------------------
    def send(self, frame: bytes) -> None:
        if self._closing:
            return
        if self.addr.datagram:
            self._send_datagram(frame)
            return
        if self._gave_up or self.queued + len(frame) > self.max_buffer:
            self._drop(1)
            return
        self.queue.append(frame)
        self.queued += len(frame)
        self._kick()

    def close(self) -> None:
        self._closing = True
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._wake is not None:
            self._wake.set()
        self._report(force=True)

    # -- datagrams -------------------------------------------------------------------------------
    def _send_datagram(self, frame: bytes) -> None:
        try:
            if self._sock is None:
                family = socket.AF_UNIX if self.addr.scheme == "unixgram" else _family(self.addr.host)
                self._sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
            target = self.addr.path if self.addr.scheme == "unixgram" else (self.addr.host, self.addr.port)
            self._sock.sendto(frame, target)
            self.sent += 1
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED, errno.ENOENT, errno.EMSGSIZE):
                log.debug("%s: send: %s", self.name, e)
            self._drop(1)

    # -- streams ------------------------------------------------------------------------------------
    def _kick(self) -> None:
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a unit test writing synchronously): the frames wait in the buffer
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._pump())
        if self._wake is not None:
            self._wake.set()

    async def _pump(self) -> None:
        attempts = 0
        writer: asyncio.StreamWriter | None = None
        assert self._wake is not None
        deadline: float | None = None
        while True:
            if self._closing:
                deadline = deadline or time.monotonic() + CLOSE_GRACE
                if not self.queue or time.monotonic() > deadline:
                    break
            if writer is None:
                writer = await self._connect()
                if writer is None:
                    attempts += 1
                    if 0 <= self.max_retries < attempts:
                        log.warning("%s: giving up on %s after %d attempts", self.name, self._where(), attempts)
                        self._gave_up = True
                        self._drop(len(self.queue))
                        self.queue.clear()
                        self.queued = 0
                        break
                    await asyncio.sleep(self.retry_wait if not self._closing else 0.1)
                    continue
                attempts = 0
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch: list[bytes] = []
            while self.queue and len(batch) < 256:
                frame = self.queue.popleft()
                self.queued -= len(frame)
                batch.append(frame)
            try:
                writer.write(b"".join(batch))
                await writer.drain()
                self.sent += len(batch)
            except (OSError, ConnectionError) as e:
                log.info("%s: connection to %s lost: %s", self.name, self._where(), e)
                self._drop(len(batch))
                writer = None
        if writer is not None:
            writer.close()
        self._report(force=True)

    async def _connect(self) -> asyncio.StreamWriter | None:
        try:
            if self.addr.scheme == "unix":
                _r, w = await asyncio.wait_for(asyncio.open_unix_connection(self.addr.path), 5)
            else:
                _r, w = await asyncio.wait_for(asyncio.open_connection(
                    self.addr.host, self.addr.port, ssl=self.tls,
                    server_hostname=self.addr.host if self.tls else None), 5)
            return w
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
            log.debug("%s: connect to %s: %s", self.name, self._where(), e)
            return None

    def _where(self) -> str:
        a = self.addr
        return f"{a.scheme}://{a.path or f'{a.host}:{a.port}'}"

    # -- drops ------------------------------------------------------------------------------------
    def _drop(self, n: int) -> None:
        self.dropped += n
        self._report()

    def _report(self, force: bool = False) -> None:
        if not self.dropped:
            return
        now = time.monotonic()
        if force or now - self._reported >= REPORT_EVERY:
            log.warning("%s: dropped %d log messages for %s (receiver slow or down; max-buffer-size %d)",
                        self.name, self.dropped, self._where(), self.max_buffer)
            self._reported = now
            self.dropped = 0


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def tls_context(ca: str = "", cert: str = "", key: str = "", skip_verify: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca or None)
    if cert:
        ctx.load_cert_chain(cert, key or None)
    if skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RemoteWriter:
    """Dual logging: every line goes to the local cache (for `docker logs`) and to the receiver."""

    def __init__(self, cache: object, format: Callable[[str, bytes, int, bool], list[bytes]],
                 sender: Sender) -> None:
        self.cache = cache  # a LogWriter (the local format), or None with cache-disabled
        self.format, self.sender = format, sender
        self._partial: dict[str, bytes] = {}

    def write(self, stream: str, data: bytes, now_ns: int | None = None) -> None:
        ns = now_ns if now_ns is not None else time.time_ns()
        if self.cache is not None:
            self.cache.write(stream, data, ns)  # type: ignore[attr-defined]
        buf = self._partial.pop(stream, b"") + data if self._partial else data
        lines = buf.split(b"\n")
        rest = lines.pop()
        for line in lines:
            for frame in self.format(stream, line, ns, False):
                self.sender.send(frame)
        if len(rest) >= 16 * 1024:
            for frame in self.format(stream, rest, ns, True):
                self.sender.send(frame)
        elif rest:
            self._partial[stream] = rest

    def flush(self, stream: str | None = None, now_ns: int | None = None) -> None:
        ns = now_ns if now_ns is not None else time.time_ns()
        if self.cache is not None:
            self.cache.flush(stream, ns)  # type: ignore[attr-defined]
        for s in [stream] if stream else list(self._partial):
            rest = self._partial.pop(s, b"")
            if rest:
                for frame in self.format(s, rest, ns, True):
                    self.sender.send(frame)

    def close(self) -> None:
        self.flush()
        if self.cache is not None:
            self.cache.close()  # type: ignore[attr-defined]
        self.sender.close()
