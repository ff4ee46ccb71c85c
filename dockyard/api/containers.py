"""Container routes: parse the request, call the container service, render JSON or a stream."""
from __future__ import annotations

import asyncio
import json
from typing import IO, Any, AsyncIterator, Callable, Protocol

from .. import errors
from ..containers.detachkeys import DEFAULT as DEFAULT_DETACH_KEYS
from ..containers.detachkeys import Scanner
from ..containers.detachkeys import parse as parse_detach_keys
from ..containers import filters as container_filters
from ..containers.model import Container
from ..logging import reader as logreader
from ..timefmt import parse_time_ns
from .http import RawStream, Request, Response, empty, json_response
from .router import Router
from .streams import STDERR, STDOUT, STREAM_IDS, frame, from_thread


def _time_param(value: str | None) -> int | None:
    """Docker accepts unix seconds (with fraction) or RFC 3339 for since/until: nanoseconds."""
    if value is None or value == "":
        return None
    try:
        return parse_time_ns(value)
    except ValueError:
        raise errors.InvalidParameter(f"invalid time value: {value}") from None


class ContainerBackend(Protocol):
    """containers/service.py, as these routes use it."""
    def get(self, ref: str) -> Container: ...
    def all(self) -> list[Container]: ...
    def image_id_of(self, name: str) -> str | None: ...
    async def create(self, name: str | None, body: Any) -> Container: ...
    async def summaries(self, found: list[Container], size: bool) -> list[dict[str, Any]]: ...
    async def inspect(self, ref: str, size: bool = False) -> dict[str, Any]: ...
    async def start(self, ref: str) -> None: ...
    async def stop(self, ref: str, timeout: int | None = None) -> None: ...
    async def restart(self, ref: str, timeout: int | None = None) -> None: ...
    async def kill(self, ref: str, signal: str | int | None = None) -> None: ...
    def register_exit_waiter(self, c: Container, condition: str) -> "asyncio.Future[dict]": ...
    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None: ...
    async def rename(self, ref: str, new_name: str) -> None: ...
    def log_entries(self, c: Container, wanted: set[str], tail: int | None = None, since: int = 0,
                    until: int | None = None, follow: bool = False) -> AsyncIterator[logreader.Entry]: ...
    def log_batches(self, c: Container, wanted: set[str], tail: int | None = None, since: int = 0,
                    until: int | None = None, follow: bool = False) -> AsyncIterator[list[logreader.Entry]]: ...
    def attach(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> "asyncio.Future[Any]": ...
    async def resize(self, ref: str, height: int, width: int) -> None: ...
    def exporter(self, ref: str) -> Callable[[IO[bytes]], None]: ...
    def top(self, ref: str, ps_args: str) -> dict[str, Any]: ...
    async def prune(self) -> tuple[list[str], int]: ...


def routes(router: Router, svc: ContainerBackend) -> None:
    add = router.add

    async def create(req: Request) -> Response:
        c = await svc.create(req.arg("name"), await req.json(required=True))
        return json_response({"Id": c.id, "Warnings": []}, 201)

    async def list_(req: Request) -> Response:
        filters = req.json_arg("filters") or {}
        if not isinstance(filters, dict):
            raise errors.InvalidParameter("invalid filters")
        found = list_containers(svc.all(), req.flag("all"), req.int_arg("limit"),
                                filters, req.flag("latest"), svc.image_id_of)
        return json_response(await svc.summaries(found, req.flag("size")))

    async def inspect(req: Request) -> Response:
        return json_response(await svc.inspect(req.match["id"], req.flag("size")))

    async def start(req: Request) -> Response:
        await svc.start(req.match["id"])
        return empty()

    async def stop(req: Request) -> Response:
        await svc.stop(req.match["id"], _timeout(req))
        return empty()

    async def restart(req: Request) -> Response:
        await svc.restart(req.match["id"], _timeout(req))
        return empty()

    async def kill(req: Request) -> Response:
        await svc.kill(req.match["id"], req.arg("signal") or "SIGKILL")
        return empty()

    async def wait(req: Request) -> Response:
        c = svc.get(req.match["id"])
        condition = req.arg("condition")  # Docker reads an unknown condition as not-running
        result = svc.register_exit_waiter(
            c, condition if condition in ("next-exit", "removed") else "not-running")
        # Status and headers go out now; the body when the container exits (clients block on headers).
        async def body() -> AsyncIterator[bytes]:
            yield b""
            yield json.dumps(await result).encode() + b"\n"
        return Response(stream=body())

    async def remove(req: Request) -> Response:
        await svc.remove(req.match["id"], force=req.flag("force"), volumes=req.flag("v"))
        return empty()

    async def rename(req: Request) -> Response:
        name = req.arg("name")
        if not name:
            raise errors.InvalidParameter("name is required")
        await svc.rename(req.match["id"], name)
        return empty()

    async def logs(req: Request) -> Response:
        c = svc.get(req.match["id"])
        stdout, stderr = req.flag("stdout"), req.flag("stderr")
        if not (stdout or stderr):
            raise errors.InvalidParameter("Bad parameters: you must choose at least one stream")
        tail_arg = req.arg("tail") or "all"
        try:
            tail = None if tail_arg == "all" else int(tail_arg)
        except ValueError:
            raise errors.InvalidParameter(f"invalid tail value: {tail_arg}") from None
        wanted = {s for s, on in (("stdout", stdout), ("stderr", stderr)) if on}
        tty = bool(c.config.get("Tty"))
        content = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
        batches = svc.log_batches(c, wanted, tail, _time_param(req.arg("since")) or 0,
                                  _time_param(req.arg("until")), req.flag("follow"))
        return Response(content_type=content, stream=_render_batches(batches, tty, req.flag("timestamps")))

    async def attach(req: Request) -> Response:
        c = svc.get(req.match["id"])
        want = {k: req.flag(k) for k in ("stdin", "stdout", "stderr", "logs", "stream")}
        keys = detach_keys_of(req)
        tty = bool(c.config.get("Tty"))
        content = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
        pending = svc.attach(c, want["stdin"], want["stdout"], want["stderr"]) if want["stream"] else None
        replay = svc.log_entries(c, {s for s in ("stdout", "stderr") if want[s]}) if want["logs"] else None

        async def session(raw: RawStream) -> None:
            await _attach_session(c, raw, pending, replay, want, tty, keys)

        return Response(content_type=content, hijack=session)

    async def resize(req: Request) -> Response:
        await svc.resize(req.match["id"], req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0)
        return empty(200)

    async def export(req: Request) -> Response:
        return Response(content_type="application/x-tar", stream=from_thread(svc.exporter(req.match["id"])))

    async def top(req: Request) -> Response:
        return json_response(await asyncio.to_thread(svc.top, req.match["id"], req.arg("ps_args") or ""))

    async def prune(req: Request) -> Response:
        deleted, reclaimed = await svc.prune()
        return json_response({"ContainersDeleted": deleted, "SpaceReclaimed": reclaimed})

    add("POST", "/containers/create", create)
    add("GET", "/containers/json", list_)
    add("POST", "/containers/prune", prune)
    add("GET", "/containers/{id}/json", inspect)
    add("POST", "/containers/{id}/start", start)
    add("POST", "/containers/{id}/stop", stop)
    add("POST", "/containers/{id}/restart", restart)
    add("POST", "/containers/{id}/kill", kill)
    add("POST", "/containers/{id}/wait", wait)
    add("POST", "/containers/{id}/rename", rename)
    add("POST", "/containers/{id}/attach", attach)
    add("POST", "/containers/{id}/resize", resize)
    add("GET", "/containers/{id}/logs", logs)
    add("GET", "/containers/{id}/export", export)
    add("GET", "/containers/{id}/top", top)
    add("DELETE", "/containers/{id}", remove)


def _render(entry: logreader.Entry, tty: bool, timestamps: bool) -> bytes:
    data = (entry.time.encode() + b" " + entry.data) if timestamps else entry.data
    return data if tty else frame(STREAM_IDS.get(entry.stream, STDOUT), data)


async def _render_batches(batches: AsyncIterator[list[logreader.Entry]], tty: bool,
                          timestamps: bool) -> AsyncIterator[bytes]:
    """One write per batch read: a full read of a big log is not a write per line."""
    async for batch in batches:
        yield b"".join([_render(e, tty, timestamps) for e in batch])


async def _attach_session(c: Container, raw: RawStream, pending: Any, replay: AsyncIterator[logreader.Entry] | None,
                          want: dict[str, bool], tty: bool, detach_keys: bytes = b"") -> None:
    stream = None
    try:
        if replay is not None and not await _replay_logs(raw, replay, tty):
            return
        stream = await pending if pending is not None else None
        if stream is not None:
            await _pump_attach(c, raw, stream, want["stdin"], tty, detach_keys)
    finally:
        if stream is not None:
            await stream.close()
        elif pending is not None and not pending.done():
            pending.cancel()
        elif pending is not None and not pending.cancelled() and pending.result() is not None:
            await pending.result().close()  # bound after we gave up on it


async def _replay_logs(raw: RawStream, entries: AsyncIterator[logreader.Entry], tty: bool) -> bool:
    async for e in entries:
        if not await raw.write(_render(e, tty, False)):
            return False
    return True


async def _pump_attach(c: Container, raw: RawStream, stream: Any, stdin: bool, tty: bool,
                       detach_keys: bytes = b"") -> None:
    # The client half-closed (stdin ended). Only StdinOnce containers see EOF,
    # like Docker: others keep stdin open for the next attach.
    eof = bool(c.config.get("StdinOnce") or not c.config.get("OpenStdin"))
    await pump(raw, stream, stdin, tty, eof, detach_keys)


async def pump(raw: RawStream, stream: Any, stdin: bool, tty: bool, close_stdin_at_eof: bool,
               detach_keys: bytes = b"") -> bool:
    """Copy stdin in and output out until the output ends or the client types the detach keys.

    Returns True when the client detached.
    """
    detached = asyncio.Event()
    scanner = Scanner(detach_keys)

    async def pump_in() -> None:
        try:
            while True:
                data = await raw.read()
                if not data:
                    if close_stdin_at_eof:
                        await stream.close_stdin()
                    return
                data, detach = scanner.feed(data)
                await stream.write(data)
                if detach:
                    detached.set()
                    return
        except (errors.DockyardError, ConnectionError, OSError):
            return  # the container (or its stdin) is gone: output decides when the session ends

    async def pump_out() -> None:
        while True:
            item = await stream.read()
            if item is None:
                break
            sid, data = item
            if not await raw.write(data if tty else frame(sid if sid in (STDOUT, STDERR) else STDOUT, data)):
                break

    reader = asyncio.ensure_future(pump_in()) if stdin else None
    writer = asyncio.ensure_future(pump_out())
    waiter = asyncio.ensure_future(detached.wait())
    try:
        await asyncio.wait({writer, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (reader, writer, waiter):
            if t is not None and not t.done():
                t.cancel()
        await asyncio.gather(*(t for t in (reader, writer, waiter) if t is not None), return_exceptions=True)
    return detached.is_set()


def detach_keys_of(req: Request, default: str = DEFAULT_DETACH_KEYS) -> bytes:
    return parse_detach_keys(req.arg("detachKeys") or default)


def list_containers(all_: list[Container], show_all: bool, limit: int | None,
                    filters: dict[str, Any], latest: bool,
                    image_id_of: Callable[[str], str | None]) -> list[Container]:
    wanted = container_filters.validate(filters)
    items = sorted(all_, key=lambda c: c.created, reverse=True)
    if latest:
        limit = 1
    if limit is not None and limit > 0:
        show_all = True
    if not show_all and "status" not in wanted and "exited" not in wanted:
        items = [c for c in items if c.state.running]
    ok = container_filters.matcher(wanted, all_, image_id_of)
    items = [c for c in items if ok(c)]
    return items[:limit] if limit is not None and limit > 0 else items


def _timeout(req: Request) -> int | None:
    """`?t=` of stop and restart; `t=null` (sent by some clients for "no timeout") is ignored, as by Docker."""
    return None if req.arg("t") == "null" else req.int_arg("t")
