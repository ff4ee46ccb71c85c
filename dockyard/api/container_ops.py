"""Routes on a container's live state: stats, changes (diff), pause/unpause, update."""
from __future__ import annotations

from typing import Any, AsyncIterator, Protocol

from .http import Request, Response, empty, json_response
from .router import Router


class LiveBackend(Protocol):
    """containers/live.py LiveOps."""
    def stats(self, ref: str, stream: bool, one_shot: bool) -> AsyncIterator[bytes]: ...
    async def pause(self, ref: str) -> None: ...
    async def unpause(self, ref: str) -> None: ...
    async def update(self, ref: str, body: Any) -> None: ...


class ChangesBackend(Protocol):
    """containers/files.py ContainerFiles."""
    async def changes(self, ref: str) -> list[dict[str, Any]] | None: ...


def routes(router: Router, live: LiveBackend, files: ChangesBackend) -> None:
    async def stats(req: Request) -> Response:
        return Response(stream=live.stats(req.match["id"], req.flag("stream", True), req.flag("one-shot")))

    async def changes(req: Request) -> Response:
        return json_response(await files.changes(req.match["id"]))

    async def pause(req: Request) -> Response:
        await live.pause(req.match["id"])
        return empty()

    async def unpause(req: Request) -> Response:
        await live.unpause(req.match["id"])
        return empty()

    async def update(req: Request) -> Response:
        await live.update(req.match["id"], await req.json(required=True))
        return json_response({"Warnings": []})

    router.add("GET", "/containers/{id}/stats", stats)
    router.add("GET", "/containers/{id}/changes", changes)
    router.add("POST", "/containers/{id}/pause", pause)
    router.add("POST", "/containers/{id}/unpause", unpause)
    router.add("POST", "/containers/{id}/update", update)
