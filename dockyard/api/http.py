"""The HTTP/1.1 server under the Engine API: h11 framing over asyncio unix/TCP streams.

h11 is used instead of a framework because the Engine API hijacks connections
(attach, exec): after the request the socket carries raw bytes both ways, the client may
send stdin in the same packet as the headers and may half-close its side. h11 hands the
unparsed bytes over by design (`trailing_data`), so no private internals are touched.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import h11
from http import HTTPStatus

log = logging.getLogger("dockyard.api")

_KNOWN = {s.value for s in HTTPStatus}
MAX_HEADER_BYTES = 64 * 1024
READ_SIZE = 64 * 1024


class Request:
    """One parsed request; the body is read lazily from the connection."""

    def __init__(self, conn: "Connection", event: h11.Request) -> None:
        self._conn = conn
        self.method = event.method.decode()
        target = event.target.decode("latin-1")
        parts = urlsplit(target)
        self.path = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
        self.match: dict[str, str] = {}
        self.body_done = False

    # query helpers ---------------------------------------------------------------------
    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None:
            return default
        return value.lower() not in ("", "0", "false", "no")

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        from ..errors import InvalidParameter

        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidParameter(f"invalid value for {name}: {value!r}") from None

    def json_arg(self, name: str) -> Any:
        from ..errors import InvalidParameter

        value = self.arg(name)
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError as e:
            raise InvalidParameter(f"invalid JSON in {name}: {e}") from None

    # body ------------------------------------------------------------------------------
    async def stream(self) -> AsyncIterator[bytes]:
        while not self.body_done:
            event = await self._conn.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self.body_done = True
            else:
                raise ConnectionError(f"unexpected {type(event).__name__} in request body")

    async def read(self, limit: int = 16 * 1024 * 1024) -> bytes:
        from ..errors import InvalidParameter

        chunks, size = [], 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > limit:
                raise InvalidParameter("request body too large")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json(self, required: bool = False) -> Any:
        from ..errors import InvalidParameter

        raw = await self.read()
        if not raw.strip():
            if required:
                raise InvalidParameter("request body is empty")
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise InvalidParameter(f"invalid JSON: {e}") from None


@dataclass
class Response:
    """A response: a body of bytes, a stream of chunks, or a hijack of the connection."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None
    hijack: Callable[["RawStream"], Awaitable[None]] | None = None


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(obj).encode() + b"\n")


def empty(status: int = 204) -> Response:
    return Response(status=status, content_type="text/plain")


class RawStream:
    """A hijacked connection: raw bytes both ways after the 101 response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
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


Handler = Callable[[Request], Awaitable[Response]]


class Connection:
    """Drives one client connection: requests in, responses out, until close or hijack."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 dispatch: Handler) -> None:
        self.reader = reader
        self.writer = writer
        self.dispatch = dispatch
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)

    async def next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.reader.read(READ_SIZE)
            self.h11.receive_data(data)

    async def _send(self, event: Any) -> None:
        data = self.h11.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def serve(self) -> None:
        try:
            while True:
                event = await self.next_event()
                if not isinstance(event, h11.Request):
                    return
                request = Request(self, event)
                response = await self.dispatch(request)
                if response.hijack is not None:
                    await self._hijack(request, response)
                    return
                await self._respond(request, response)
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                    return
                self.h11.start_next_cycle()
        except h11.RemoteProtocolError as e:
            await self._send_bad_request(str(e))
        except (ConnectionError, asyncio.IncompleteReadError, h11.LocalProtocolError,
                asyncio.CancelledError):
            pass
        except Exception:  # a broken stream or hijack must not escape into asyncio's default handler
            log.exception("connection failed")
        finally:
            self.writer.close()

    async def _respond(self, request: Request, response: Response) -> None:
        headers = [("Content-Type", response.content_type), ("Api-Version", "1.41"),
                   ("Docker-Experimental", "false"), ("Ostype", "linux"),
                   ("Server", "Dockyard/0.1 (linux)"), *response.headers]
        if response.stream is None:
            headers.append(("Content-Length", str(len(response.body))))
        reason = HTTPStatus(response.status).phrase.encode() if response.status in _KNOWN else b""
        await self._send(h11.Response(status_code=response.status, headers=headers, reason=reason))
        if response.stream is not None and request.method == "HEAD":
            aclose = getattr(response.stream, "aclose", None)
            if aclose:
                await aclose()
        elif response.stream is None:
            if response.body and request.method != "HEAD":
                await self._send(h11.Data(data=response.body))
        else:
            await self._drain_request_body(request)
            if not await self._stream_until_client_leaves(response.stream):
                raise ConnectionResetError("client went away during a streamed response")
        await self._send(h11.EndOfMessage())
        await self._drain_request_body(request)

    async def _stream_until_client_leaves(self, stream: AsyncIterator[bytes]) -> bool:
        """Send the stream; False if the client closed first.

        A stream may sit idle for long (wait, logs -f, events): watching the socket for EOF
        meanwhile lets the handler's waiters go as soon as the client does. Bytes that arrive
        instead (a pipelined request) go to h11, which parses them after this response.
        """
        async def pump() -> None:
            try:
                async for chunk in stream:
                    if chunk:
                        await self._send(h11.Data(data=chunk))
            finally:
                aclose = getattr(stream, "aclose", None)
                if aclose:
                    await aclose()

        async def client_gone() -> None:
            while True:
                data = await self.reader.read(READ_SIZE)
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

    async def _drain_request_body(self, request: Request) -> None:
        # h11 needs the request body consumed before the next request on this connection.
        async for _ in request.stream():
            pass

    async def _hijack(self, request: Request, response: Response) -> None:
        await self._drain_request_body(request)
        upgrade = "upgrade" in request.headers.get("connection", "").lower()
        status = "101 UPGRADED" if upgrade else "200 OK"
        head = [f"HTTP/1.1 {status}", f"Content-Type: {response.content_type}", "Api-Version: 1.41"]
        if upgrade:
            head += ["Connection: Upgrade", "Upgrade: tcp"]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await self.writer.drain()
        leftover, _closed = self.h11.trailing_data
        assert response.hijack is not None
        await response.hijack(RawStream(self.reader, self.writer, bytes(leftover)))

    async def _send_bad_request(self, message: str) -> None:
        try:
            body = json.dumps({"message": message}).encode()
            await self._send(h11.Response(status_code=400, headers=[
                ("Content-Type", "application/json"), ("Content-Length", str(len(body)))]))
            await self._send(h11.Data(data=body))
            await self._send(h11.EndOfMessage())
        except Exception:  # the connection is already broken: nothing more to tell the client
            pass


# Connection tasks, held strongly. asyncio keeps only weak references to tasks, and once a client
# half-closes a hijacked connection its transport leaves the selector: a session waiting on a
# supervisor stream (whose protocol holds its reader weakly) is then garbage and gets collected
# mid-stream ("Task was destroyed but it is pending"), losing the container's output.
_live_connections: set[asyncio.Task[Any]] = set()


async def close_all_connections() -> None:
    """On shutdown: end every open connection (idle keep-alives, waits, follows, attaches)."""
    tasks = [t for t in _live_connections if not t.done()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                           dispatch: Handler) -> None:
    task = asyncio.current_task()
    if task is not None:
        _live_connections.add(task)
    try:
        await Connection(reader, writer, dispatch).serve()
    finally:
        _live_connections.discard(task)  # type: ignore[arg-type]
