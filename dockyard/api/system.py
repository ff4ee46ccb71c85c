"""System routes: _ping, version, info, events, and the swarm endpoints a non-swarm node refuses."""
from __future__ import annotations

import asyncio
import json
import os
import platform
import time
from typing import Any, AsyncIterator, Protocol

from .. import errors
from .http import Request, Response, json_response
from ..timefmt import rfc3339
from .router import Router

API_VERSION = "1.41"
ENGINE_VERSION = "20.10.0-dockyard.0.1.0"


class SystemBackend(Protocol):
    def info(self) -> dict[str, Any]: ...
    def disk_usage(self) -> dict[str, Any]: ...
    events: Any


def _arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def version_info() -> dict[str, Any]:
    kernel = platform.release()
    details = {"ApiVersion": API_VERSION, "Arch": _arch(), "BuildTime": "", "GitCommit": "",
               "GoVersion": "python" + platform.python_version(), "KernelVersion": kernel,
               "MinAPIVersion": "1.12", "Os": "linux", "Experimental": "false"}
    return {
        "Platform": {"Name": "Dockyard Engine"},
        "Components": [{"Name": "Engine", "Version": ENGINE_VERSION, "Details": details}],
        "Version": ENGINE_VERSION, **{k: v for k, v in details.items() if k != "Experimental"},
    }


def routes(router: Router, backend: SystemBackend) -> None:
    async def ping(req: Request) -> Response:
        return Response(body=b"OK", content_type="text/plain; charset=utf-8",
                        headers=[("Cache-Control", "no-cache, no-store, must-revalidate"),
                                 ("Pragma", "no-cache"), ("Builder-Version", "1")])

    async def version(req: Request) -> Response:
        return json_response(version_info())

    async def info(req: Request) -> Response:
        return json_response(await asyncio.to_thread(backend.info))

    async def df(req: Request) -> Response:
        return json_response(await asyncio.to_thread(backend.disk_usage))

    async def events(req: Request) -> Response:
        since = _time_arg(req.arg("since"))
        until = _time_arg(req.arg("until"))
        filters = req.json_arg("filters") or {}
        return Response(stream=_event_stream(backend.events, since, until, filters))

    async def not_swarm(req: Request) -> Response:
        raise errors.Unavailable(
            "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" "
            "to connect this node to swarm and try again.")

    async def swarm_leave(req: Request) -> Response:
        raise errors.Unavailable("This node is not part of a swarm")

    router.add("GET", "/_ping", ping)
    router.add("GET", "/version", version)
    router.add("GET", "/info", info)
    router.add("GET", "/events", events)
    router.add("GET", "/system/df", df)
    router.add("POST", "/swarm/leave", swarm_leave)
    for path in ("/swarm", "/swarm/{rest:.*}", "/nodes", "/nodes/{rest:.*}", "/services",
                 "/services/{rest:.*}", "/tasks", "/tasks/{rest:.*}", "/secrets",
                 "/secrets/{rest:.*}", "/configs", "/configs/{rest:.*}"):
        for method in ("GET", "POST", "DELETE"):
            router.add(method, path, not_swarm)


def _time_arg(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise errors.InvalidParameter(f"invalid time value: {value}") from None


def _matches(event: dict[str, Any], filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        values = list(wanted) if isinstance(wanted, (list, dict)) else [wanted]
        attrs = event["Actor"]["Attributes"]
        if key == "type" and event["Type"] not in values:
            return False
        if key == "event" and event["Action"].split(":")[0] not in values:
            return False
        if key in ("container", "image") and event["Type"] == key and not (
                event["Actor"]["ID"] in values or attrs.get("name") in values):
            return False
        if key == "label" and not any(
                (v.split("=", 1)[0] in attrs) if "=" not in v else attrs.get(v.split("=", 1)[0]) == v.split("=", 1)[1]
                for v in values):
            return False
    return True


async def _event_stream(bus: Any, since: float | None, until: float | None,
                        filters: dict[str, Any]) -> AsyncIterator[bytes]:
    q = bus.subscribe()
    try:
        if since is not None:
            for event in bus.recent():
                if event["timeNano"] / 1e9 >= since and (until is None or event["timeNano"] / 1e9 <= until):
                    if _matches(event, filters):
                        yield json.dumps(event).encode() + b"\n"
        yield b""
        while True:
            timeout = None if until is None else max(0.0, until - time.time())
            try:
                event = await asyncio.wait_for(q.get(), timeout)
            except asyncio.TimeoutError:
                return
            if _matches(event, filters):
                yield json.dumps(event).encode() + b"\n"
    finally:
        bus.unsubscribe(q)


def host_facts() -> dict[str, Any]:
    mem_total = 0
    try:
        with open("/proc/meminfo") as f:
            mem_total = int(f.readline().split()[1]) * 1024
    except OSError:
        pass
    return {"KernelVersion": platform.release(), "OSType": "linux", "Architecture": platform.machine(),
            "NCPU": os.cpu_count() or 1, "MemTotal": mem_total, "Name": platform.node(),
            "OperatingSystem": _os_name(), "SystemTime": rfc3339()}


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"
