"""The Engine API's side of the HTTP server: its request helpers, response shorthands and headers.

The connection loop (h11, chunked streams, hijack for attach and exec) is `dockyard/httpserver`,
shared with the registry server; this module fixes what the Engine API adds to it.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any, AsyncIterator

from ..errors import InvalidParameter, TooLarge
from ..httpserver import BodyTooLarge, ConnectionSet, Handler, Profile, RawStream, Response
from ..httpserver.connection import Reader, Writer
from ..httpserver import Request as _BaseRequest

__all__ = ["RawStream", "Request", "Response", "close_all_connections", "empty", "json_response",
           "serve_connection"]

log = logging.getLogger("dockyard.api")

MAX_BODY = 16 * 1024 * 1024


class Request(_BaseRequest):
    """A request with the Engine API's typed query helpers; bad input is InvalidParameter."""

    _replay: bytes | None = None

    def keep_body(self, data: bytes) -> None:
        """The body was read ahead (by the authorization plugins): the handler reads it again."""
        self._replay = data

    async def stream(self) -> AsyncIterator[bytes]:
        if self._replay is not None:
            data, self._replay = self._replay, None
            if data:
                yield data
            return
        async for chunk in super().stream():
            yield chunk

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise InvalidParameter(f"invalid value for {name}: {value!r}") from None

    def json_arg(self, name: str) -> Any:
        value = self.arg(name)
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError as e:
            raise InvalidParameter(f"invalid JSON in {name}: {e}") from None

    def filters_arg(self) -> dict[str, list[str]]:
        """`filters` as Docker's clients send it (`{"k": ["v"]}` or `{"k": {"v": true}}`), as lists."""
        raw = self.json_arg("filters") or {}
        if not isinstance(raw, dict):
            raise InvalidParameter("invalid filters")
        out: dict[str, list[str]] = {}
        for key, value in raw.items():
            if isinstance(value, dict):
                out[key] = [str(v) for v in value]
            elif isinstance(value, list):
                out[key] = [str(v) for v in value]
            else:
                raise InvalidParameter(f"invalid filter '{key}': the value must be a list or a map")
        return out

    async def read(self, limit: int = MAX_BODY) -> bytes:
        try:
            return await super().read(limit)
        except BodyTooLarge:
            raise TooLarge(f"request body too large: this endpoint reads at most {limit >> 20} MiB") from None

    async def json(self, required: bool = False) -> Any:
        raw = await self.read()
        if not raw.strip():
            if required:
                raise InvalidParameter("request body is empty")
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise InvalidParameter(f"invalid JSON: {e}") from None


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(obj).encode() + b"\n")


def empty(status: int = 204) -> Response:
    return Response(status=status, content_type="text/plain")


def _bad_request(message: str) -> Response:
    return json_response({"message": message}, 400)


def _internal_error() -> Response:
    return json_response({"message": "internal server error"}, 500)


PROFILE = Profile(
    headers=(("Api-Version", "1.41"), ("Docker-Experimental", "false"), ("Ostype", "linux"),
             ("Server", "Dockyard/0.1 (linux)")),
    hijack_headers=(("Api-Version", "1.41"),),
    bad_request=_bad_request, internal_error=_internal_error, request_class=Request, log=log)

_connections = ConnectionSet()


async def close_all_connections() -> None:
    """On shutdown: end every open connection (idle keep-alives, waits, follows, attaches)."""
    await _connections.close_all()


async def serve_connection(reader: Reader, writer: Writer, dispatch: Handler, scheme: str = "http",
                           profile: Profile = PROFILE) -> None:
    await _connections.serve(reader, writer, dispatch, profile, scheme)


def profile_with(idle_timeout: float | None, header_timeout: float | None) -> Profile:
    """The Engine API's profile with the daemon's configured client timeouts."""
    return dataclasses.replace(PROFILE, idle_timeout=idle_timeout, header_timeout=header_timeout)
