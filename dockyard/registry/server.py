"""The registry's side of the HTTP server: its headers, error bodies and the TCP (optionally TLS) listener.

The connection loop (h11, keep-alive, 100-continue, sendfile for blobs) is `dockyard/httpserver`,
shared with the Engine API; this module fixes what the registry adds to it.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from typing import AsyncIterator, Callable

from ..httpserver import FileBody, Handler, Profile, Request, Response, serve_tcp, split_listen

__all__ = ["FileBody", "Handler", "Request", "Response", "reply", "serve", "split_listen"]

log = logging.getLogger("dockyard.registry")

DRAIN_LIMIT = 1024 * 1024  # an unread body smaller than this is drained to keep the connection


def reply(status: int = 200, headers: list[tuple[str, str]] | None = None, body: bytes = b"", *,
          file: FileBody | None = None, stream: AsyncIterator[bytes] | None = None, length: int | None = None) -> Response:
    """A registry response: its headers (Content-Type among them) are all the handler's."""
    return Response(status, body, None, list(headers or []), stream=stream, file=file, length=length)


def _internal_error() -> Response:
    return reply(500, [("Content-Type", "application/json")],
                 b'{"errors":[{"code":"UNKNOWN","message":"internal error","detail":{}}]}\n')


PROFILE = Profile(headers=(("Docker-Distribution-API-Version", "registry/2.0"),), drain_limit=DRAIN_LIMIT,
                  internal_error=_internal_error, read_size=256 * 1024, log=log)


async def serve(handler: Handler, host: str, port: int, ssl_context: ssl.SSLContext | None = None,
                ready: Callable[[asyncio.Server], None] | None = None) -> None:
    await serve_tcp(handler, host, port, PROFILE, ssl_context, ready)
