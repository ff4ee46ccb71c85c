"""Route table and dispatch: version prefix, path patterns, error rendering."""
from __future__ import annotations

import json
import logging
import re
from typing import Awaitable, Callable

from .. import errors
from .http import Request, Response, json_response
from .httpstatus import status_for

log = logging.getLogger("dockyard.api")

Handler = Callable[[Request], Awaitable[Response]]
# Runs around every request, given the request and the rest of the dispatch (whose errors are
# already rendered as responses); what it raises is rendered too. The authorization plugins.
Around = Callable[[Request, Handler], Awaitable[Response]]
_VERSION_PREFIX = re.compile(r"^/v(\d+\.\d+)(/.*)$")
MIN_API, MAX_API = (1, 12), (1, 41)


class Router:
    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.around: Around | None = None

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` uses {name} for a path segment and {name:.*} for the rest of the path."""
        def group(m: re.Match[str]) -> str:
            name, _, rx = m.group(1).partition(":")
            return f"(?P<{name}>{rx or '[^/]+'})"
        regex = re.compile("^" + re.sub(r"\{([^}]+)\}", group, pattern) + "/?$")
        self._routes.append((method, regex, handler))

    async def dispatch(self, request: Request) -> Response:
        if self.around is None:
            return await self._rendered(request)
        try:
            return await self.around(request, self._rendered)
        except errors.DockyardError as e:
            return _error_response(request, e)
        except Exception as e:  # noqa: BLE001 - as below: the daemon answers whatever happens
            log.exception("%s %s failed", request.method, request.path)
            return json_response({"message": f"internal error: {e}"}, 500)

    async def _rendered(self, request: Request) -> Response:
        try:
            return await self._dispatch(request)
        except errors.DockyardError as e:
            return _error_response(request, e)
        except Exception as e:  # the daemon must answer, never die, whatever a handler does
            log.exception("%s %s failed", request.method, request.path)
            return json_response({"message": f"internal error: {e}"}, 500)

    async def _dispatch(self, request: Request) -> Response:
        path = request.path
        m = _VERSION_PREFIX.match(path)
        if m:
            version = tuple(int(x) for x in m.group(1).split("."))
            if version > MAX_API:
                raise errors.InvalidParameter(
                    f"client version {m.group(1)} is too new. Maximum supported API version is 1.41")
            if version < MIN_API:
                raise errors.InvalidParameter(
                    f"client version {m.group(1)} is too old. Minimum supported API version is 1.12, "
                    "please upgrade your client to a newer version")
            path = m.group(2)
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(path)
            if not match:
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                allowed = True
                continue
            request.match = match.groupdict()
            return await handler(request)
        if allowed:
            return json_response({"message": "method not allowed"}, 405)
        return json_response({"message": "page not found"}, 404)


def _error_response(request: Request, e: errors.DockyardError) -> Response:
    status = status_for(e)
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.path, e.message)
    if status == 304:
        return Response(status=304, content_type="text/plain")
    return json_response({"message": e.message}, status)


def dumps(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\n"
