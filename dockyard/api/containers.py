"""Container routes: parse the request, call the container service, render JSON or a stream."""
from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

from .. import errors
from ..containers.detachkeys import DEFAULT as DEFAULT_DETACH_KEYS
from ..containers.detachkeys import Scanner
from ..containers.detachkeys import parse as parse_detach_keys
from ..containers import health as healthlib
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


def routes(router: Router, svc: Any, images: Any, execs: Any = None) -> None:
    add = router.add

    async def create(req: Request) -> Response:
        body = await req.json(required=True)
        host = body.get("HostConfig") if isinstance(body, dict) else None
        if isinstance(host, dict) and host.get("Runtime"):
            svc.runtime_program(str(host["Runtime"]))  # unknown, or unusable here: 400 before anything is made
        c = await svc.create(req.arg("name"), body)
        if not c.host_config.get("Runtime"):
            c.host_config["Runtime"] = svc.runtime  # inspect names the runtime, as Docker does
            svc.store.save(c)
        return json_response({"Id": c.id, "Warnings": []}, 201)

    async def list_(req: Request) -> Response:
        filters = req.json_arg("filters") or {}
        if not isinstance(filters, dict):
            raise errors.InvalidParameter("invalid filters")
        found = list_containers(svc.store.all(), req.flag("all"), req.int_arg("limit"),
                                filters, req.flag("latest"))
        summaries = []
        for c in found:
            s = c.to_summary()
            if req.flag("size"):
                s["SizeRw"] = await asyncio.to_thread(images.rootfs_size, c.id)
                s["SizeRootFs"] = s["SizeRw"]
            summaries.append(s)
        return json_response(summaries)

    async def inspect(req: Request) -> Response:
        c = svc.get(req.match["id"])
        size = await asyncio.to_thread(images.rootfs_size, c.id) if req.flag("size") else None
        graph = await asyncio.to_thread(images.graph_driver, c.id)
        data = c.to_inspect(graph, size)
        if execs is not None:
            data["ExecIDs"] = execs.ids_for(c.id) or None
        return json_response(data)

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
        result = svc.register_exit_waiter(c, req.arg("condition") or "not-running")
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
        content = "application/vnd.docker.raw-stream" if c.config.get("Tty") else \
            "application/vnd.docker.multiplexed-stream"
        return Response(content_type=content, stream=_log_stream(
            c, wanted, tail, _time_param(req.arg("since")) or 0, _time_param(req.arg("until")),
            req.flag("follow"), req.flag("timestamps")))

    async def attach(req: Request) -> Response:
        c = svc.get(req.match["id"])
        want = {k: req.flag(k) for k in ("stdin", "stdout", "stderr", "logs", "stream")}
        keys = detach_keys_of(req)
        tty = bool(c.config.get("Tty"))
        content = "application/vnd.docker.raw-stream" if tty else "application/vnd.docker.multiplexed-stream"
        pending = svc.attach(c, want["stdin"], want["stdout"], want["stderr"]) if want["stream"] else None

        async def session(raw: RawStream) -> None:
            await _attach_session(c, raw, pending, want, tty, keys)

        return Response(content_type=content, hijack=session)

    async def resize(req: Request) -> Response:
        c = svc.get(req.match["id"])
        h, w = req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0
        if not c.state.running:
            raise errors.Conflict(f"Container {c.id} is not running")
        await svc.supervisor.resize(c.id, h, w)
        return empty(200)

    async def export(req: Request) -> Response:
        c = svc.get(req.match["id"])
        return Response(content_type="application/x-tar",
                        stream=from_thread(lambda out: images.export(c.id, out)))

    async def top(req: Request) -> Response:
        return json_response(await asyncio.to_thread(svc.top, req.match["id"], req.arg("ps_args") or ""))

    async def prune(req: Request) -> Response:
        deleted, reclaimed = [], 0
        for c in list(svc.store.all()):
            if not c.state.running:
                reclaimed += await asyncio.to_thread(images.rootfs_size, c.id)
                await svc.remove(c.id)
                deleted.append(c.id)
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


async def _log_stream(c: Container, wanted: set[str], tail: int | None, since: int,
                      until: int | None, follow: bool, timestamps: bool) -> AsyncIterator[bytes]:
    tty = bool(c.config.get("Tty"))
    entries, offset = await asyncio.to_thread(logreader.read, c.log_path, tail, since, until)
    for e in entries:
        if e.stream in wanted:
            yield _render(e, tty, timestamps)
    if follow and c.state.running:
        async for e in logreader.follow(c.log_path, offset, lambda: c.state.running, since, until):
            if e.stream in wanted:
                yield _render(e, tty, timestamps)


async def _attach_session(c: Container, raw: RawStream, pending: Any, want: dict[str, bool],
                          tty: bool, detach_keys: bytes = b"") -> None:
    stream = None
    try:
        if want["logs"] and not await _replay_logs(c, raw, want, tty):
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


async def _replay_logs(c: Container, raw: RawStream, want: dict[str, bool], tty: bool) -> bool:
    wanted = {s for s in ("stdout", "stderr") if want[s]}
    entries, _ = await asyncio.to_thread(logreader.read, c.log_path)
    for e in entries:
        if e.stream in wanted and not await raw.write(_render(e, tty, False)):
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
                    filters: dict[str, Any], latest: bool) -> list[Container]:
    items = sorted(all_, key=lambda c: c.created, reverse=True)
    if latest:
        limit = 1
    if limit is not None and limit > 0:
        show_all = True
    if not show_all and "status" not in filters and "exited" not in filters:
        items = [c for c in items if c.state.running]
    items = [c for c in items if _filter_ok(c, filters, all_)]
    return items[:limit] if limit is not None and limit > 0 else items


def _values(v: Any) -> list[str]:
    return list(v.keys()) if isinstance(v, dict) else list(v) if isinstance(v, list) else [str(v)]


def _filter_ok(c: Container, filters: dict[str, Any], all_: list[Container]) -> bool:
    for key, raw in filters.items():
        values = _values(raw)
        if key == "status":
            bad = [v for v in values if v not in ("created", "restarting", "running", "removing",
                                                   "paused", "exited", "dead")]
            if bad:
                raise errors.InvalidParameter(f"Unrecognised filter value for status: {bad[0]}")
            if c.state.status not in values:
                return False
        elif key == "id":
            if not any(c.id.startswith(v) for v in values):
                return False
        elif key == "name":
            import re
            if not any(re.search(v.lstrip("/"), c.name) for v in values):
                return False
        elif key == "exited":
            if c.state.status != "exited" or str(c.state.exit_code) not in values:
                return False
        elif key == "label":
            labels = c.config.get("Labels") or {}
            for v in values:
                k, eq, val = v.partition("=")
                if k not in labels or (eq and labels[k] != val):
                    return False
        elif key == "ancestor":
            if not any(v in (c.image, c.image_id) or c.image_id.startswith("sha256:" + v) for v in values):
                return False
        elif key in ("before", "since"):
            ref = next((x for x in all_ if x.id.startswith(values[0]) or x.name == values[0]), None)
            if ref is None:
                raise errors.NotFound(f"No such container: {values[0]}")
            if key == "before" and not c.created < ref.created:
                return False
            if key == "since" and not c.created > ref.created:
                return False
        elif key == "health":
            bad = [v for v in values if v not in healthlib.FILTER_VALUES]
            if bad:
                raise errors.InvalidParameter(f"Unrecognised filter value for health: {bad[0]}")
            if healthlib.status_of(c) not in values:
                return False
        elif key in ("network", "volume", "publish", "expose", "isolation", "is-task"):
            continue
        else:
            raise errors.InvalidParameter(f"Invalid filter '{key}'")
    return True


def _timeout(req: Request) -> int | None:
    """`?t=` of stop and restart; `t=null` (sent by some clients for "no timeout") is ignored, as by Docker."""
    return None if req.arg("t") == "null" else req.int_arg("t")
