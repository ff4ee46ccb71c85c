"""Routes on a container's live state: stats, changes (diff), pause/unpause, update."""
from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

from ..containers import changes as changeslib
from ..containers import live
from ..containers.stats import sample
from .http import Request, Response, empty, json_response
from .router import Router

STATS_INTERVAL = 1.0


def routes(router: Router, svc: Any, images: Any) -> None:
    parent = svc.cgroup_parent

    async def stats(req: Request) -> Response:
        c = svc.get(req.match["id"])
        stream = req.flag("stream", True)
        one_shot = req.flag("one-shot")

        async def body() -> AsyncIterator[bytes]:
            pre = None
            if not stream and not one_shot and c.state.running:
                # like Docker, a single sample carries a CPU delta over one interval
                pre = await asyncio.to_thread(sample, c, parent)
                await asyncio.sleep(STATS_INTERVAL)
            while True:
                cur = await asyncio.to_thread(sample, c, parent, pre)
                yield json.dumps(cur).encode() + b"\n"
                if not stream or not c.state.running:
                    return
                pre = cur
                await asyncio.sleep(STATS_INTERVAL)

        return Response(stream=body())

    async def changes(req: Request) -> Response:
        c = svc.get(req.match["id"])
        data = (await asyncio.to_thread(images.graph_driver, c.id)).get("Data") or {}
        upper = data.get("UpperDir")
        if not upper:
            return json_response(None)
        lowers = [d for d in (data.get("LowerDir") or "").split(":") if d]
        found = await asyncio.to_thread(changeslib.changes, upper, lowers)
        return json_response(found or None)

    async def pause(req: Request) -> Response:
        c = svc.get(req.match["id"])
        async with svc._lock(c.id):
            await asyncio.to_thread(live.pause, c, parent)
            c.state.status = "paused"
            svc.store.save(c)
        svc._event(c, "pause")
        return empty()

    async def unpause(req: Request) -> Response:
        c = svc.get(req.match["id"])
        async with svc._lock(c.id):
            await asyncio.to_thread(live.unpause, c, parent)
            if c.state.status == "paused":
                c.state.status = "running"
                svc.store.save(c)
        svc._event(c, "unpause")
        return empty()

    async def update(req: Request) -> Response:
        c = svc.get(req.match["id"])
        body = await req.json(required=True)
        new = live.validate_update(c, body)
        restart = body.get("RestartPolicy") if isinstance(body, dict) else None
        async with svc._lock(c.id):
            if c.state.running:
                await asyncio.to_thread(live.apply_update, c, new, parent)
            c.host_config.update(new)
            if isinstance(restart, dict) and restart.get("Name") is not None:
                c.host_config["RestartPolicy"] = {"Name": restart.get("Name") or "no",
                                                  "MaximumRetryCount": int(restart.get("MaximumRetryCount") or 0)}
            svc.store.save(c)
        svc._event(c, "update")
        return json_response({"Warnings": []})

    router.add("GET", "/containers/{id}/stats", stats)
    router.add("GET", "/containers/{id}/changes", changes)
    router.add("POST", "/containers/{id}/pause", pause)
    router.add("POST", "/containers/{id}/unpause", unpause)
    router.add("POST", "/containers/{id}/update", update)
