"""Exec routes: create, start (hijacked or detached), resize, inspect."""
from __future__ import annotations

import asyncio
from typing import Any, Protocol

from .. import errors
from .containers import detach_keys_of, pump
from .body import field, json_object
from .http import RawStream, Request, Response, empty, json_response
from .router import Router
from .streams import STDOUT, frame

# How long the end of an exec's output may precede its recorded exit (both come from the supervisor).
_EXIT_GRACE = 5.0


class ExecBackend(Protocol):
    def create(self, ref: str, body: Any) -> Any: ...
    def get(self, exec_id: str) -> Any: ...
    def check_startable(self, exec_id: str) -> tuple[Any, Any]: ...
    async def start_detached(self, exec_id: str) -> None: ...
    async def start_attached(self, exec_id: str) -> tuple[Any, Any]: ...
    async def resize(self, exec_id: str, height: int, width: int) -> None: ...


def size_args(req: Request) -> tuple[int, int]:
    h, w = req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0
    if not (0 <= h < 65536 and 0 <= w < 65536):
        raise errors.InvalidParameter(f"invalid terminal size {h}x{w}")
    return h, w


_EXEC_FIELDS = (("DetachKeys", str), ("User", str), ("WorkingDir", str), ("Tty", bool),
                ("Privileged", bool), ("AttachStdin", bool), ("AttachStdout", bool), ("AttachStderr", bool))


def routes(router: Router, execs: ExecBackend) -> None:
    async def create(req: Request) -> Response:
        body = await req.json(required=True)
        if isinstance(body, dict):
            for key, kind in _EXEC_FIELDS:
                field(body, key, kind, "ExecConfig")
        e = execs.create(req.match["id"], body)
        return json_response({"Id": e.id}, 201)

    async def start(req: Request) -> Response:
        body = json_object(await req.json(), "ExecStartCheck")
        if field(body, "Detach", bool, "ExecStartCheck"):
            await execs.start_detached(req.match["id"])
            return empty(200)
        e, _ = execs.check_startable(req.match["id"])  # a conflict is an HTTP error, before the hijack
        keys = detach_keys_of(req, e.detach_keys or "ctrl-p,ctrl-q")
        tty = e.tty
        content = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"

        async def session(raw: RawStream) -> None:
            try:
                ex, stream = await execs.start_attached(e.id)
            except errors.DockyardError as err:
                # Docker writes the failure on the hijacked stream; the client reads the exit code from inspect.
                msg = (err.message + "\r\n").encode()
                await raw.write(msg if tty else frame(STDOUT, msg))
                return
            try:
                detached = await pump(raw, stream, e.attach_stdin, tty, True, keys)
                if not detached:
                    try:
                        await asyncio.wait_for(ex.done.wait(), _EXIT_GRACE)
                    except asyncio.TimeoutError:
                        pass
            finally:
                await stream.close()

        return Response(content_type=content, hijack=session)

    async def resize(req: Request) -> Response:
        h, w = size_args(req)
        await execs.resize(req.match["id"], h, w)
        return empty(200)

    async def inspect(req: Request) -> Response:
        return json_response(execs.get(req.match["id"]).to_inspect())

    router.add("POST", "/containers/{id}/exec", create)
    router.add("POST", "/exec/{id}/start", start)
    router.add("POST", "/exec/{id}/resize", resize)
    router.add("GET", "/exec/{id}/json", inspect)
