"""Build routes: POST /build (Docker's JSON message stream) and POST /build/prune."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Protocol

from .. import errors
from .http import Request, Response, json_response
from .router import Router
from .streams import spool

log = logging.getLogger("dockyard.api")


class BuildBackend(Protocol):
    def prepare(self, opts: Any, body: Any) -> Any: ...
    async def build(self, prepared: Any, emit: Any) -> str: ...
    def prune(self, all_: bool, keep_storage: int, filters: dict[str, list[str]]) -> dict[str, Any]: ...


def _line(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode() + b"\r\n"


def _error_line(e: BaseException) -> bytes:
    message = getattr(e, "message", None) or str(e)
    detail: dict[str, Any] = {"message": message}
    if getattr(e, "code", 0):
        detail["code"] = e.code  # type: ignore[attr-defined]
    return _line({"errorDetail": detail, "error": message})


def routes(router: Router, svc: BuildBackend, tmp_dir: str) -> None:
    from ..build.options import from_request  # the query's format, not a service

    async def build(req: Request) -> Response:
        opts = from_request(req.arg, lambda n: req.query.get(n, []), req.flag, req.json_arg, req.headers)
        body = await spool(req, tmp_dir)
        try:
            prepared = await asyncio.to_thread(svc.prepare, opts, body)  # 4xx before the stream
        finally:
            body.close()
        return Response(stream=_stream(svc, prepared))

    async def prune(req: Request) -> Response:
        filters = req.json_arg("filters") or {}
        if not isinstance(filters, dict):
            raise errors.InvalidParameter("invalid filters")
        filters = {k: list(v.keys()) if isinstance(v, dict) else list(v) for k, v in filters.items()}
        keep = req.int_arg("keep-storage", 0) or 0
        return json_response(await asyncio.to_thread(svc.prune, req.flag("all"), keep, filters))

    router.add("POST", "/build", build)
    router.add("POST", "/build/prune", prune)


async def _stream(svc: BuildBackend, prepared: Any) -> AsyncIterator[bytes]:
    """The build's messages as they come; a client that leaves cancels the build (it cleans up)."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def work() -> None:
        try:
            await svc.build(prepared, lambda m: queue.put_nowait(_line(m)))
        except errors.DockyardError as e:
            queue.put_nowait(_error_line(e))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a StepError, or a host failure: the stream says so, the daemon lives
            if type(e).__name__ != "StepError":
                log.exception("build failed")
            queue.put_nowait(_error_line(e))
        finally:
            queue.put_nowait(None)

    task = asyncio.ensure_future(work())
    try:
        while True:
            item = await queue.get()
            if item is None:
                break
            chunks = [item]
            while not queue.empty():
                nxt = queue.get_nowait()
                if nxt is None:
                    queue.put_nowait(None)
                    break
                chunks.append(nxt)
            yield b"".join(chunks)
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
