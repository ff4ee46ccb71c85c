"""The registry's HTTP/1.1 server: h11 framing over asyncio TCP streams (optionally TLS), sendfile for blobs.

h11 keeps the protocol state (keep-alive, pipelining, chunked bodies, 100-continue); responses
whose body is a file go out with `loop.sendfile` (zero-copy on plain TCP, a read/write fallback
under TLS), placed by h11's data passthrough so the framing stays h11's.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import h11

log = logging.getLogger("dockyard.registry")

READ_SIZE = 256 * 1024
MAX_HEADER_BYTES = 64 * 1024
DRAIN_LIMIT = 1024 * 1024  # an unread body smaller than this is drained to keep the connection
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


class Request:
    def __init__(self, conn: "Connection", event: h11.Request, scheme: str) -> None:
        self._conn = conn
        self.method = event.method.decode()
        self.target = event.target.decode("latin-1")
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        headers: dict[str, str] = {}
        for k, v in event.headers:
            key = k.decode().lower()
            value = v.decode("latin-1")
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.headers = headers
        self.scheme = scheme
        self.body_done = False
        self.body_started = False
        self.peer = conn.peer

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return int(value) if value is not None and value.isdigit() else None

    async def stream(self) -> AsyncIterator[bytes]:
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
        """The whole body; raises OverflowError past limit bytes."""
        chunks, size = [], 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > limit:
                raise OverflowError(size)
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
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    file: FileBody | None = None
    stream: AsyncIterator[bytes] | None = None
    length: int | None = None  # Content-Length of a file or stream body (and of a HEAD answer)


Handler = Callable[[Request], Awaitable[Response]]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler,
                 scheme: str) -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.scheme = scheme
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    async def next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.reader.read(READ_SIZE)
            self.h11.receive_data(data)

    async def send(self, event: Any) -> None:
        data = self.h11.send(event)
        if data:
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > READ_SIZE:
                await self.writer.drain()

    async def serve(self) -> None:
        try:
            while True:
                event = await self.next_event()
                if not isinstance(event, h11.Request):
                    return
                request = Request(self, event, self.scheme)
                try:
                    response = await self.handler(request)
                except (ConnectionError, h11.RemoteProtocolError):
                    raise
                except Exception:
                    log.exception("%s %s failed", request.method, request.path)
                    response = Response(500, [("Content-Type", "application/json")],
                                        b'{"errors":[{"code":"UNKNOWN","message":"internal error","detail":{}}]}\n')
                await self._respond(request, response)
                await self.writer.drain()
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                    return
                self.h11.start_next_cycle()
        except h11.RemoteProtocolError as e:
            if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                try:
                    await self.send(h11.Response(status_code=400, headers=[("Content-Length", "0"),
                                                                          ("Connection", "close")]))
                    await self.send(h11.EndOfMessage())
                    await self.writer.drain()
                except Exception:
                    pass
            log.debug("bad request from %s: %s", self.peer, e)
        except (ConnectionError, asyncio.IncompleteReadError, h11.LocalProtocolError, ssl.SSLError,
                asyncio.CancelledError):
            pass
        except Exception:
            log.exception("connection from %s failed", self.peer)
        finally:
            self.writer.close()

    async def _respond(self, request: Request, response: Response) -> None:
        headers = [("Docker-Distribution-API-Version", "registry/2.0"), *response.headers]
        if response.file is not None:
            length = response.file.count
        elif response.stream is not None:
            length = response.length if response.length is not None else 0
        elif response.length is not None and request.method == "HEAD":
            length = response.length
        else:
            length = len(response.body)
        if response.status not in (204, 304) and not (100 <= response.status < 200):
            headers.append(("Content-Length", str(length)))
        if not request.body_done:
            cl = request.content_length
            chunked = "transfer-encoding" in request.headers
            if request.body_started or (cl is None and chunked) or (cl is not None and cl > DRAIN_LIMIT):
                headers.append(("Connection", "close"))
        await self.send(h11.Response(status_code=response.status, headers=headers,
                                     reason=_REASONS.get(response.status, b"")))
        if request.method != "HEAD":
            if response.file is not None and response.file.count:
                await self._sendfile(response.file)
            elif response.stream is not None:
                async for chunk in response.stream:
                    await self.send(h11.Data(data=chunk))
                    await self.writer.drain()
            elif response.body and response.status != 204:
                await self.send(h11.Data(data=response.body))
        elif response.stream is not None:
            aclose = getattr(response.stream, "aclose", None)
            if aclose is not None:
                await aclose()
        await self.send(h11.EndOfMessage())
        if not request.body_done and self.h11.our_state is not h11.MUST_CLOSE:
            async for _ in request.stream():  # small unread body: consume it to keep the connection
                pass

    async def _sendfile(self, body: FileBody) -> None:
        pieces = self.h11.send_with_data_passthrough(h11.Data(data=body))  # type: ignore[arg-type]
        for piece in pieces:
            if piece is body:
                await self.writer.drain()
                with open(body.path, "rb") as f:
                    await asyncio.get_running_loop().sendfile(self.writer.transport, f, body.offset, body.count)
            else:
                self.writer.write(piece)


async def serve(handler: Handler, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                ready: Callable[[asyncio.AbstractServer], None] | None = None) -> None:
    scheme = "https" if ssl_context is not None else "http"
    connections: set[asyncio.Task[Any]] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            connections.add(task)
            task.add_done_callback(connections.discard)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        await Connection(reader, writer, handler, scheme).serve()

    server = await asyncio.start_server(on_connect, host, port, ssl=ssl_context, limit=READ_SIZE,
                                        reuse_address=True, backlog=512)
    if ready is not None:
        ready(server)
    try:
        async with server:
            await server.serve_forever()
    finally:
        for task in list(connections):
            task.cancel()
        if connections:
            await asyncio.gather(*connections, return_exceptions=True)


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)

