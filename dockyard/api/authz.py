"""The authorization check around every request: what the request and the response were, in the
form Docker sends to authorization plugins (RequestBody and ResponseBody base64, JSON only)."""
from __future__ import annotations

import asyncio
import base64
from typing import Any, Protocol

from .http import Request, Response
from .router import Handler, Router

MAX_BODY = 1 << 20  # Docker's maxBodySize: larger bodies are not sent to the plugins


class AuthzBackend(Protocol):
    def request(self, info: dict[str, Any]) -> None: ...
    def response(self, info: dict[str, Any]) -> None: ...


def _canonical(key: str) -> str:
    return "-".join(part.capitalize() for part in key.split("-"))


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def _sends_body(uri: str, content_type: str | None) -> bool:
    return not uri.split("?")[0].endswith("/auth") and _is_json(content_type)


async def _request_info(req: Request) -> dict[str, Any]:
    info: dict[str, Any] = {
        "User": "", "UserAuthNMethod": "", "RequestMethod": req.method, "RequestURI": req.target,
        "RequestHeaders": {_canonical(k): v for k, v in req.headers.items()},
    }
    length = req.content_length
    if _sends_body(req.target, req.headers.get("content-type")) and length and length <= MAX_BODY:
        body = await req.read(MAX_BODY)
        req.keep_body(body)
        info["RequestBody"] = base64.b64encode(body).decode()
    return info


def install(router: Router, backend: AuthzBackend) -> None:
    async def around(req: Request, rest: Handler) -> Response:
        info = await _request_info(req)
        await asyncio.to_thread(backend.request, info)
        resp = await rest(req)
        headers = {_canonical(k): v for k, v in resp.headers}
        if resp.content_type:
            headers.setdefault("Content-Type", resp.content_type)
        done = {**info, "ResponseStatusCode": resp.status, "ResponseHeaders": headers}
        if resp.stream is None and resp.hijack is None and resp.file is None and \
                _sends_body(req.target, resp.content_type):
            done["ResponseBody"] = base64.b64encode(resp.body).decode()
        try:
            await asyncio.to_thread(backend.response, done)
        except BaseException:
            if resp.stream is not None and hasattr(resp.stream, "aclose"):
                await resp.stream.aclose()  # denied before a byte of it went out
            raise
        return resp

    router.around = around
