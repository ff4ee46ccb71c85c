"""The shared HTTP server seam: one connection loop serving both profiles' features on real TCP sockets."""
from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest

from dockyard.httpserver import FileBody, Profile, Request, Response, serve_tcp

pytestmark = pytest.mark.timeout(30)


class TcpServer:
    """serve_tcp on 127.0.0.1:<free port>, its loop in a thread; stop() cancels it and joins."""

    def __init__(self, handler: Any, profile: Profile) -> None:
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.port = 0

        def ready(server: asyncio.Server) -> None:
            self.port = server.sockets[0].getsockname()[1]
            self.started.set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.task = asyncio.run_coroutine_threadsafe(
            serve_tcp(handler, "127.0.0.1", 0, profile, None, ready), self.loop)
        assert self.started.wait(5)

    def request(self, raw: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        try:
            self.task.result(5)
        except BaseException:  # the cancellation it was asked for
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "blob"
    path.write_bytes(bytes(range(256)) * 64)
    return path


@pytest.fixture
def server(blob: Path) -> Iterator[TcpServer]:
    async def handler(req: Request) -> Response:
        if req.path == "/file":
            return Response(file=FileBody(str(blob), 16, 100), content_type="application/octet-stream")
        if req.path == "/sized":
            async def gen() -> AsyncIterator[bytes]:
                yield b"abc"
                yield b"de"
            return Response(stream=gen(), length=5, content_type=None, headers=[("Content-Type", "x/y")])
        if req.path == "/upload":
            body = await req.read(1 << 20)
            return Response(body=str(len(body)).encode(), content_type="text/plain")
        if req.path == "/refuse":
            return Response(status=413, content_type=None)
        raise RuntimeError("no such test path")

    srv = TcpServer(handler, Profile(headers=(("X-Profile", "test"),), drain_limit=1024))
    yield srv
    srv.stop()


def test_file_body_is_the_byte_range_with_content_length(server: TcpServer, blob: Path) -> None:
    out = server.request(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"content-length: 100" in head.lower() and b"x-profile: test" in head.lower()
    assert body == blob.read_bytes()[16:116]


def test_stream_with_a_length_is_not_chunked_and_keeps_handler_content_type(server: TcpServer) -> None:
    out = server.request(b"GET /sized HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"content-length: 5" in head.lower() and b"transfer-encoding" not in head.lower()
    assert head.lower().count(b"content-type") == 1 and b"x/y" in head
    assert body == b"abcde"


def test_expect_100_continue_is_answered_when_the_handler_reads(server: TcpServer) -> None:
    out = server.request(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                         b"Expect: 100-continue\r\n\r\nwxyz")
    assert out.startswith(b"HTTP/1.1 100 ")
    assert out.endswith(b"\r\n\r\n4")


def test_unread_body_past_the_drain_limit_closes_instead_of_reading(server: TcpServer) -> None:
    big = b"x" * 4096
    out = server.request(b"PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + big
                         + b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413 ") and b"connection: close" in out.lower()
    assert out.count(b"HTTP/1.1 ") == 1  # the pipelined request after the big body is not served


def test_small_unread_body_is_drained_and_the_connection_kept(server: TcpServer) -> None:
    out = server.request(b"PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                         b"GET /sized HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413 ") and out.endswith(b"abcde")


def test_handler_exception_is_the_profiles_500_and_the_next_request_is_served(server: TcpServer) -> None:
    out = server.request(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /sized HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 500 ") and out.endswith(b"abcde")


def test_malformed_request_is_400_and_closed(server: TcpServer) -> None:
    out = server.request(b"GET /file HTTP/1.1\r\nBad Header\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 ") and b"connection: close" in out.lower()
