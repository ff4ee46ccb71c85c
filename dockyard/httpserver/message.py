"""Requests and responses of the HTTP server: query and header access, lazy bodies, hijacked streams."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import h11

if TYPE_CHECKING:
    from .connection import Connection
    from .tls import TLSStream

READ_SIZE = 64 * 1024


class BodyTooLarge(OverflowError):
    """A request body went past the size its handler accepts."""


class Request:
    """One parsed request; the body is read lazily from the connection."""

    def __init__(self, conn: "Connection", event: h11.Request) -> None:
        self._conn = conn
        self.method = event.method.decode()
        self.target = event.target.decode("latin-1")
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        headers: dict[str, str] = {}
        for k, v in event.headers:  # repeated headers combine, as RFC 9110 section 5.3 allows
            key, value = k.decode().lower(), v.decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.headers = headers
        self.scheme = conn.scheme
        self.peer = conn.peer
        self.match: dict[str, str] = {}  # path parameters, filled in by a router
        self.body_done = False
        self.body_started = False
        self.body_refused = False  # read() met a body past its limit: the connection closes after

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None:
            return default
        return value.lower() not in ("", "0", "false", "no")

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.isdigit() else None

    async def stream(self) -> AsyncIterator[bytes]:
        """The body in chunks as they arrive (a 100 Continue first if the client waits for one)."""
        if not self.body_started:
            self.body_started = True
            if self._conn.h11.they_are_waiting_for_100_continue:
                await self._conn.send(h11.InformationalResponse(status_code=100, headers=[]))
        while not self.body_done:
            event = await self._conn.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.body_done = True
            else:
                raise ConnectionError(f"unexpected {type(event).__name__} in request body")

    async def read(self, limit: int) -> bytes:
        """The whole body; BodyTooLarge past limit bytes (a Content-Length past it: before reading)."""
        if self.content_length is not None and self.content_length > limit:
            self.body_refused = True
            raise BodyTooLarge(self.content_length)
        chunks, size = [], 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > limit:
                self.body_refused = True
                raise BodyTooLarge(size)
            chunks.append(chunk)
        return b"".join(chunks)


@dataclass
class FileBody:
    """A byte range of a local file, sent with sendfile."""
    path: str
    offset: int
    count: int

    def __len__(self) -> int:
        return self.count


@dataclass
class Response:
    """A response: bytes, a file range, a stream of chunks, or a hijack of the connection.

    content_type None sends no Content-Type of its own (the headers may carry one). A stream with
    a length goes out with Content-Length, one without in chunks; length alone answers a HEAD.
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None
    hijack: Callable[["RawStream"], Awaitable[None]] | None = None
    file: FileBody | None = None
    length: int | None = None


class RawStream:
    """A hijacked connection: raw bytes both ways after the 101 response."""

    def __init__(self, reader: "asyncio.StreamReader | TLSStream", writer: "asyncio.StreamWriter | TLSStream",
                 leftover: bytes) -> None:
        self._reader = reader
        self._writer = writer
        self._leftover = leftover

    async def read(self, n: int = READ_SIZE) -> bytes:
        """Bytes from the client; b"" once it half-closed or went away."""
        if self._leftover:
            data, self._leftover = self._leftover, b""
            return data
        try:
            return await self._reader.read(n)
        except (ConnectionError, OSError):
            return b""

    async def write(self, data: bytes) -> bool:
        """Send to the client; False when it is gone."""
        if self._writer.is_closing():
            return False
        try:
            self._writer.write(data)
            await self._writer.drain()
            return True
        except (ConnectionError, OSError):
            return False
