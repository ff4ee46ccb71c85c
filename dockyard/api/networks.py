"""Network routes: create, inspect, list, connect, disconnect, remove, prune (Docker's shapes)."""
from __future__ import annotations

import builtins
from typing import Any, Protocol

from .. import errors
from .body import field, json_object
from .http import Request, Response, empty, json_response
from .router import Router


class Networks(Protocol):
    """The backend these routes need (network/service.py)."""
    def list(self, filters: dict[str, Any]) -> list[dict[str, Any]]: ...
    def inspect(self, ref: str) -> dict[str, Any]: ...
    async def create(self, body: Any) -> Any: ...
    async def remove(self, ref: str) -> None: ...
    async def prune(self, filters: dict[str, Any]) -> builtins.list[str]: ...


class Attachments(Protocol):
    """Connect and disconnect containers (network/sandbox.py)."""
    async def connect(self, ref: str, c: Any, endpoint_config: Any) -> None: ...
    async def disconnect(self, ref: str, c: Any, force: bool) -> None: ...


class Containers(Protocol):
    def get(self, ref: str) -> Any: ...
    def save(self, c: Any) -> None: ...


_CREATE_FIELDS: tuple[tuple[str, type], ...] = (("Name", str), ("Driver", str), ("Scope", str), ("CheckDuplicate", bool),
                  ("Internal", bool), ("Attachable", bool), ("Ingress", bool), ("EnableIPv6", bool),
                  ("Options", dict), ("Labels", dict))


def _filters(req: Request) -> dict[str, Any]:
    filters = req.json_arg("filters") or {}
    if not isinstance(filters, dict):
        raise errors.InvalidParameter("invalid filters")
    return filters


def routes(router: Router, networks: Networks, attachments: Attachments, containers: Containers) -> None:
    add = router.add

    async def list_(req: Request) -> Response:
        return json_response(networks.list(_filters(req)))

    async def inspect(req: Request) -> Response:
        return json_response(networks.inspect(req.match["id"]))

    async def create(req: Request) -> Response:
        body = json_object(await req.json(required=True), "NetworkCreateRequest", required=True)
        for key, kind in _CREATE_FIELDS:
            field(body, key, kind, "NetworkCreateRequest")
        ipam = field(body, "IPAM", dict, "NetworkCreateRequest") or {}
        for key, kind in (("Driver", str), ("Config", list), ("Options", dict)):
            field(ipam, key, kind, "IPAM")
        n = await networks.create(body)
        return json_response({"Id": n.id, "Warning": ""}, 201)

    async def remove(req: Request) -> Response:
        await networks.remove(req.match["id"])
        return empty()

    async def prune(req: Request) -> Response:
        return json_response({"NetworksDeleted": await networks.prune(_filters(req))})

    async def connect(req: Request) -> Response:
        body = json_object(await req.json(required=True), "NetworkConnect", required=True)
        ref = field(body, "Container", str, "NetworkConnect")
        endpoint = field(body, "EndpointConfig", dict, "NetworkConnect")
        if not ref:
            raise errors.InvalidParameter("no container specified")
        networks.inspect(req.match["id"])  # an unknown network is a 404 before the container
        c = containers.get(ref)
        await attachments.connect(req.match["id"], c, endpoint)
        containers.save(c)
        return empty(200)

    async def disconnect(req: Request) -> Response:
        body = json_object(await req.json(required=True), "NetworkDisconnect", required=True)
        ref = field(body, "Container", str, "NetworkDisconnect")
        force = field(body, "Force", bool, "NetworkDisconnect")
        if not ref:
            raise errors.InvalidParameter("no container specified")
        c = containers.get(ref)
        await attachments.disconnect(req.match["id"], c, bool(force))
        containers.save(c)
        return empty(200)

    add("GET", "/networks", list_)
    add("POST", "/networks/create", create)
    add("POST", "/networks/prune", prune)
    add("GET", "/networks/{id}", inspect)
    add("DELETE", "/networks/{id}", remove)
    add("POST", "/networks/{id}/connect", connect)
    add("POST", "/networks/{id}/disconnect", disconnect)
