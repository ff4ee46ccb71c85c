"""Volume routes: parse the request, call the volume service, render JSON."""
from __future__ import annotations

import builtins
import asyncio
from typing import Any, Protocol

from .. import errors
from .body import field, json_object
from .http import Request, Response, empty, json_response
from .router import Router


class VolumeBackend(Protocol):
    def create(self, name: str | None, driver: str | None = None, options: dict[str, str] | None = None,
               labels: dict[str, str] | None = None, anonymous: bool = False) -> Any: ...
    def get(self, name: str) -> Any: ...
    def list(self, filters: dict[str, Any]) -> list[Any]: ...
    def remove(self, name: str, force: bool = False) -> None: ...
    def prune(self, filters: dict[str, Any]) -> tuple[builtins.list[str], int]: ...


def _filters(req: Request) -> dict[str, Any]:
    filters = req.json_arg("filters") or {}
    if not isinstance(filters, dict):
        raise errors.InvalidParameter("invalid filters")
    return filters


def routes(router: Router, svc: VolumeBackend) -> None:
    async def create(req: Request) -> Response:
        body = json_object(await req.json(), "VolumeCreateBody")
        name, driver, opts, labels = (field(body, key, kind, "VolumeCreateBody") for key, kind in
                                      (("Name", str), ("Driver", str), ("DriverOpts", dict), ("Labels", dict)))
        v = await asyncio.to_thread(svc.create, name or None, driver or None, opts, labels)
        return json_response(v.to_api(), 201)

    async def list_(req: Request) -> Response:
        found = await asyncio.to_thread(svc.list, _filters(req))
        return json_response({"Volumes": [v.to_api() for v in found], "Warnings": None})

    async def inspect(req: Request) -> Response:
        v = await asyncio.to_thread(svc.get, req.match["name"])
        return json_response(v.to_api())

    async def remove(req: Request) -> Response:
        await asyncio.to_thread(svc.remove, req.match["name"], req.flag("force"))
        return empty()

    async def prune(req: Request) -> Response:
        deleted, reclaimed = await asyncio.to_thread(svc.prune, _filters(req))
        return json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    router.add("POST", "/volumes/create", create)
    router.add("POST", "/volumes/prune", prune)
    router.add("GET", "/volumes", list_)
    router.add("GET", "/volumes/{name}", inspect)
    router.add("DELETE", "/volumes/{name}", remove)
