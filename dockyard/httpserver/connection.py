"""The connection loop: h11 framing over asyncio streams, keep-alive, chunked and file bodies, hijack.

h11 keeps the protocol state (keep-alive, pipelining, chunked bodies, 100-continue) and hands the
unparsed bytes after a 101 over by design (`trailing_data`), which the Engine API's attach and exec
need: the client may send stdin in the same packet as the headers and may half-close its side.
File bodies go out with `loop.sendfile` (zero-copy on plain TCP, a read/write fallback under TLS),
placed by h11's data passthrough so the framing stays h11's.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, AsyncIterator, Awaitable, Callable

import h11

from .message import READ_SIZE, FileBody, RawStream, Request, Response
from .tls import TLSStream

MAX_HEADER_BYTES = 1 << 20  # Go's http.DefaultMaxHeaderBytes, as dockerd has it; past it: 431
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}

# A plain stream, or one TLS connection that is both reader and writer
Reader = asyncio.StreamReader | TLSStream
Writer = asyncio.StreamWriter | TLSStream
# A handler takes the profile's request_class (a Request subclass), hence Any.
Handler = Callable[[Any], Awaitable[Response]]


def _plain_bad_request(message: str) -> Response:
    return Response(400, content_type=None)


def _plain_internal_error() -> Response:
    return Response(500, content_type="text/plain", body=b"internal error\n")


@dataclass(frozen=True)
class Profile:
    """What differs between the servers built on this module (the Engine API, the registry)."""

    headers: tuple[tuple[str, str], ...] = ()         # sent on every response
    hijack_headers: tuple[tuple[str, str], ...] = ()  # sent with a hijack's 101 (or 200)
    # An unread request body longer than this closes the connection rather than being read to
    # keep it; None always reads it.
    drain_limit: int | None = None
    bad_request: Callable[[str], Response] = _plain_bad_request
    internal_error: Callable[[], Response] = _plain_internal_error
    request_class: type[Request] = Request
    read_size: int = READ_SIZE  # bytes asked of the socket per read
    # Slow and idle clients: a connection waiting for a request's first byte longer than
    # idle_timeout, or for the rest of its headers longer than header_timeout, is closed. Bodies,
    # streamed responses and hijacked streams are not timed (uploads and `logs -f` may be slow).
    idle_timeout: float | None = 120.0
    header_timeout: float | None = 60.0
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("dockyard.http"))


class Connection:
    """Drives one client connection: requests in, responses out, until close or hijack."""

    def __init__(self, reader: Reader, writer: Writer, handler: Handler,
                 profile: Profile, scheme: str = "http") -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.profile = profile
        self.scheme = scheme
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer or "")

    async def next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            self.h11.receive_data(await self.reader.read(self.profile.read_size))

    async def send(self, event: Any) -> None:
        data = self.h11.send(event)
        if data:
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > READ_SIZE:
                await self.writer.drain()

    async def next_request(self) -> Any:
        """The next request's head, under the idle and header timeouts (TimeoutError past them)."""
        event = await self._next_head()
        # h11 bounds only a head still incomplete; one that arrived whole is measured here
        if isinstance(event, h11.Request) and len(event.headers) and \
                sum(len(k) + len(v) + 4 for k, v in event.headers.raw_items()) > MAX_HEADER_BYTES:
            raise h11.RemoteProtocolError("request header fields too large", error_status_hint=431)
        return event

    async def _next_head(self) -> Any:
        event = self.h11.next_event()
        if event is not h11.NEED_DATA:
            return event  # pipelined: already buffered
        idle, head = self.profile.idle_timeout, self.profile.header_timeout
        async with asyncio.timeout(idle) as budget:
            data = await self.reader.read(self.profile.read_size)
            if head is not None:
                budget.reschedule(asyncio.get_running_loop().time() + head)  # the first byte came
            self.h11.receive_data(data)
            while True:
                event = self.h11.next_event()
                if event is not h11.NEED_DATA:
                    return event
                self.h11.receive_data(await self.reader.read(self.profile.read_size))

    async def serve(self) -> None:
        log = self.profile.log
        try:
            while True:
                event = await self.next_request()
                if not isinstance(event, h11.Request):
                    return
                request = self.profile.request_class(self, event)
                response = await self._handle(request)
                if response.hijack is not None:
                    await self._hijack(request, response)
                    return
                await self._respond(request, response)
                await self.writer.drain()
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                    return
                self.h11.start_next_cycle()
        except h11.RemoteProtocolError as e:
            log.debug("bad request from %s: %s", self.peer, e)
            if e.error_status_hint == 431:
                await self._send_bad_request(f"request header fields too large (more than "
                                             f"{MAX_HEADER_BYTES >> 20} MiB)", 431)
            else:
                await self._send_bad_request(str(e))
        except TimeoutError:
            log.debug("closing the connection from %s: no complete request in time", self.peer or "local client")
        except (ConnectionError, asyncio.IncompleteReadError, h11.LocalProtocolError, ssl.SSLError,
                asyncio.CancelledError):
            pass
        except Exception:  # a broken stream or hijack must not escape into asyncio's default handler
            log.exception("connection from %s failed", self.peer or "local client")
        finally:
            self.writer.close()

    async def _handle(self, request: Request) -> Response:
        try:
            return await self.handler(request)
        except (ConnectionError, h11.RemoteProtocolError):
            raise
        except Exception:
            self.profile.log.exception("%s %s failed", request.method, request.path)
            return self.profile.internal_error()

    # responses -------------------------------------------------------------------------
    async def _respond(self, request: Request, response: Response) -> None:
        headers = [*self.profile.headers, *response.headers]
        if response.content_type is not None:
            headers.insert(0, ("Content-Type", response.content_type))
        length = self._content_length(request, response)
        if length is not None and response.status not in (204, 304):
            headers.append(("Content-Length", str(length)))
        if self._closes_instead_of_draining(request):
            headers.append(("Connection", "close"))
        await self.send(h11.Response(status_code=response.status, headers=headers,
                                     reason=_REASONS.get(response.status, b"")))
        if request.method == "HEAD":
            await _close_stream(response.stream)
        elif response.file is not None:
            if response.file.count:
                await self._sendfile(response.file)
        elif response.stream is not None:
            await self._drain_request_body(request)
            if not await self._send_stream(request, response.stream):
                raise ConnectionResetError("client went away during a streamed response")
        elif response.body and response.status not in (204, 304):
            await self.send(h11.Data(data=response.body))
        await self.send(h11.EndOfMessage())
        await self._drain_request_body(request)

    @staticmethod
    def _content_length(request: Request, response: Response) -> int | None:
        if response.file is not None:
            return response.file.count
        if response.stream is not None:
            return response.length  # None: chunked
        if response.length is not None and request.method == "HEAD":
            return response.length
        return len(response.body)

    def _closes_instead_of_draining(self, request: Request) -> bool:
        limit = self.profile.drain_limit
        if request.body_refused:
            return True  # a body past its handler's limit is not read to its end
        if request.body_done or limit is None:
            return False
        length = request.content_length
        chunked = "transfer-encoding" in request.headers
        return request.body_started or (length is None and chunked) or (length is not None and length > limit)

    async def _drain_request_body(self, request: Request) -> None:
        # h11 needs the request body consumed before the next request on this connection.
        if request.body_done or self.h11.our_state is h11.MUST_CLOSE or self._closes_instead_of_draining(request):
            return
        async for _ in request.stream():
            pass

    async def _send_stream(self, request: Request, stream: AsyncIterator[bytes]) -> bool:
        """Send the stream; False if the client closed first.

        A stream may sit idle for long (wait, logs -f, events): watching the socket for EOF
        meanwhile lets the handler's waiters go as soon as the client does. Bytes that arrive
        instead (a pipelined request) go to h11, which parses them after this response.
        """
        async def pump() -> None:
            try:
                async for chunk in stream:
                    if chunk:
                        await self.send(h11.Data(data=chunk))
                        await self.writer.drain()
            finally:
                await _close_stream(stream)

        if not request.body_done:  # the unread body is still on the socket: no watching it
            await pump()
            return True

        async def client_gone() -> None:
            while True:
                data = await self.reader.read(self.profile.read_size)
                if not data:
                    return
                self.h11.receive_data(data)

        sender = asyncio.ensure_future(pump())
        watcher = asyncio.ensure_future(client_gone())
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                if not task.done():
                    task.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)
        if sender.cancelled():
            return False
        sender.result()  # a failure of the stream itself ends the connection, with a log line
        return True

    async def _sendfile(self, body: FileBody) -> None:
        pieces = self.h11.send_with_data_passthrough(h11.Data(data=body))  # type: ignore[arg-type]
        for piece in pieces or []:
            if piece is body and isinstance(self.writer, TLSStream):
                await _copy_file(body, self.writer)  # the bytes must pass through the TLS object
            elif piece is body:
                await self.writer.drain()
                with open(body.path, "rb") as f:
                    await asyncio.get_running_loop().sendfile(self.writer.transport, f, body.offset, body.count)
            else:
                self.writer.write(piece)

    async def _hijack(self, request: Request, response: Response) -> None:
        await self._drain_request_body(request)
        upgrade = "upgrade" in request.headers.get("connection", "").lower()
        head = ["HTTP/1.1 101 UPGRADED" if upgrade else "HTTP/1.1 200 OK"]
        if response.content_type is not None:
            head.append(f"Content-Type: {response.content_type}")
        head += [f"{k}: {v}" for k, v in (*self.profile.hijack_headers, *response.headers)]
        if upgrade:
            head += ["Connection: Upgrade", "Upgrade: tcp"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await self.writer.drain()
        leftover, _closed = self.h11.trailing_data
        assert response.hijack is not None
        await response.hijack(RawStream(self.reader, self.writer, bytes(leftover)))

    async def _send_bad_request(self, message: str, status: int = 400) -> None:
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        answer = self.profile.bad_request(message)
        answer.status = status
        headers = [("Content-Length", str(len(answer.body))), ("Connection", "close"), *answer.headers]
        if answer.content_type is not None:
            headers.insert(0, ("Content-Type", answer.content_type))
        try:
            await self.send(h11.Response(status_code=answer.status, headers=headers,
                                         reason=_REASONS.get(answer.status, b"")))
            if answer.body:
                await self.send(h11.Data(data=answer.body))
            await self.send(h11.EndOfMessage())
            await self.writer.drain()
        except Exception:  # the connection is already broken: nothing more to tell the client
            pass


async def _copy_file(body: FileBody, out: TLSStream) -> None:
    with open(body.path, "rb") as f:
        f.seek(body.offset)
        left = body.count
        while left > 0:
            data = await asyncio.to_thread(f.read, min(left, READ_SIZE))
            if not data:
                raise ConnectionError(f"{body.path} is shorter than its Content-Length")
            out.write(data)
            await out.drain()
            left -= len(data)


async def _close_stream(stream: AsyncIterator[bytes] | None) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


class ConnectionSet:
    """The open connections of one server, held strongly, so shutdown can end them all.

    asyncio keeps only weak references to tasks, and once a client half-closes a hijacked
    connection its transport leaves the selector: a session waiting on another stream (whose
    protocol holds its reader weakly) would then be garbage and get collected mid-stream.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    async def serve(self, reader: Reader, writer: Writer, handler: Handler,
                    profile: Profile, scheme: str = "http") -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await Connection(reader, writer, handler, profile, scheme).serve()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def close_all(self) -> None:
        """End every open connection (idle keep-alives, waits, follows, attaches)."""
        tasks = [t for t in self._tasks if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:  # (gather() of nothing needs a running loop, which a server closed by GC has not)
            await asyncio.gather(*tasks, return_exceptions=True)


async def serve_tcp(handler: Handler, host: str, port: int, profile: Profile,
                    ssl_context: ssl.SSLContext | None = None,
                    ready: Callable[[asyncio.Server], None] | None = None) -> None:
    """Serve on host:port (TLS with ssl_context) until cancelled, then end every connection."""
    scheme = "https" if ssl_context is not None else "http"
    connections = ConnectionSet()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        await connections.serve(reader, writer, handler, profile, scheme)

    server = await asyncio.start_server(on_connect, host, port, ssl=ssl_context, limit=READ_SIZE * 4,
                                        reuse_address=True, backlog=512)
    if ready is not None:
        ready(server)
    try:
        async with server:
            await server.serve_forever()
    finally:
        await connections.close_all()


def split_listen(listen: str) -> tuple[str, int]:
    """'host:port' (or '[v6]:port', ':port') -> (host, port); an empty host is every address."""
    host, _, port = listen.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)
