"""Image routes: pull, push, login, distribution inspect, import, load/save, list, inspect, history,
tag, remove."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Callable

from .. import errors
from .http import Request, Response, json_response
from .router import Router
from .streams import from_thread, spool


def _progress(*messages: dict[str, Any]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for m in messages:
            yield json.dumps(m).encode() + b"\r\n"
    return gen()


log = logging.getLogger("dockyard.api")


def _credentials(req: Request) -> Any:
    from ..distribution.auth import Credentials  # the header's format, not a service
    return Credentials.from_header(req.headers.get("x-registry-auth"))


async def _progress_stream(work: Callable[[Callable[[dict], None]], Any]) -> Response:
    """Run blocking `work(emit)` in a thread and stream what it emits as JSON progress.

    Until the first message, an error is an ordinary error response with its status (as Docker
    does, so clients see 404 for an unknown image); after that it goes in-stream as errorDetail.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def emit(msg: dict) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("msg", msg))

    def run() -> None:
        try:
            result = work(emit)
        except BaseException as e:  # noqa: BLE001 - handed to the event loop
            loop.call_soon_threadsafe(queue.put_nowait, ("err", e))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, ("done", result))

    task = asyncio.ensure_future(asyncio.to_thread(run))
    kind, value = await queue.get()
    if kind == "err":
        await task
        raise value

    async def gen() -> AsyncIterator[bytes]:
        nonlocal kind, value
        try:
            while True:
                if kind == "msg":
                    batch = [json.dumps(value).encode() + b"\r\n"]
                    while not queue.empty():  # send what is ready in one chunk
                        kind, value = queue.get_nowait()
                        if kind != "msg":
                            break
                        batch.append(json.dumps(value).encode() + b"\r\n")
                    else:
                        kind = ""
                    yield b"".join(batch)
                    if not kind:
                        kind, value = await queue.get()
                    continue
                if kind == "err":
                    message = value.message if isinstance(value, errors.DockyardError) else str(value)
                    if not isinstance(value, errors.DockyardError):
                        log.error("pull/push failed: %r", value)
                    yield json.dumps({"errorDetail": {"message": message}, "error": message}).encode() + b"\r\n"
                return
        finally:
            await task

    return Response(stream=gen())


def routes(router: Router, images: Any, tmp_dir: str, containers_using: Callable[[str], list[str]],
           containers_running: Callable[[str], list[str]], events: Any, distribution: Any = None) -> None:
    add = router.add

    async def create(req: Request) -> Response:
        src = req.arg("fromSrc")
        if src is not None:
            return await _import(req, src)
        image = req.arg("fromImage")
        if not image:
            raise errors.InvalidParameter("fromImage or fromSrc is required")
        tag = req.arg("tag") or None
        platform = req.arg("platform") or None
        if distribution is None:
            name = f"{image}:{tag}" if tag and "@" not in image else image
            image_id = await asyncio.to_thread(_resolve_for_pull, images, name)
            return Response(stream=_progress(
                {"status": f"Status: Image is up to date for {name}"}, {"status": image_id}))
        creds = _credentials(req)

        def work(emit: Callable[[dict], None]) -> list[str]:
            ids = distribution.pull(image, tag, platform, creds, emit)
            for image_id in ids:
                events.publish("image", "pull", image_id, {"name": image})
            return ids
        return await _progress_stream(work)

    async def push(req: Request) -> Response:
        if distribution is None:
            raise errors.NotImplementedYet("push needs the registry client")
        name, tag, creds = req.match["name"], req.arg("tag") or None, _credentials(req)

        def work(emit: Callable[[dict], None]) -> None:
            distribution.push(name, tag, creds, emit)
            events.publish("image", "push", name, {"name": name})
        return await _progress_stream(work)

    async def auth(req: Request) -> Response:
        from ..distribution.auth import Credentials
        body = await req.json(required=True)
        creds = Credentials.from_json(body)
        return json_response(await asyncio.to_thread(distribution.login, creds))

    async def search(req: Request) -> Response:
        term = req.arg("term")
        if term is None:
            raise errors.InvalidParameter("term is required")  # Docker: the query parameter is required
        limit = req.int_arg("limit", 25)
        assert limit is not None
        return json_response(await asyncio.to_thread(distribution.search, term, limit, req.filters_arg()))

    async def distribution_inspect(req: Request) -> Response:
        return json_response(await asyncio.to_thread(distribution.inspect, req.match["name"], _credentials(req)))

    async def _import(req: Request, src: str) -> Response:
        changes = [c for c in req.query.get("changes", []) if c]
        if src != "-":
            return await _import_url(req, src, changes)
        body = await spool(req, tmp_dir)
        try:
            image_id = await asyncio.to_thread(
                images.import_tar, body, req.arg("repo") or None, req.arg("tag") or None,
                changes, req.arg("message") or "", req.arg("platform") or None)
        finally:
            body.close()
        events.publish("image", "import", image_id, {"name": req.arg("repo") or ""})
        return Response(stream=_progress({"status": image_id}))

    async def _import_url(req: Request, src: str, changes: list[str]) -> Response:
        if distribution is None:
            raise errors.NotImplementedYet("importing from a URL needs the registry client")
        url = distribution.check_import_source(src)  # a bad source is a 400 before anything is fetched
        repo = req.arg("repo") or None

        def work(emit: Callable[[dict], None]) -> str:
            image_id = distribution.import_url(url, repo, req.arg("tag") or None, changes,
                                               req.arg("message") or "", req.arg("platform") or None, emit)
            events.publish("image", "import", image_id, {"name": repo or ""})
            return image_id
        return await _progress_stream(work)

    async def list_(req: Request) -> Response:
        filters = req.filters_arg()
        legacy = req.arg("filter")  # API < 1.25: ?filter=REFERENCE
        if legacy:
            filters.setdefault("reference", []).append(legacy)
        items = await asyncio.to_thread(images.list, req.flag("all"), filters)
        return json_response(items)

    async def inspect(req: Request) -> Response:
        return json_response(await asyncio.to_thread(images.inspect, req.match["name"]))

    async def history(req: Request) -> Response:
        return json_response(await asyncio.to_thread(images.history, req.match["name"]))

    async def tag(req: Request) -> Response:
        repo = req.arg("repo")
        if not repo:
            raise errors.InvalidParameter("repository name is required")
        await asyncio.to_thread(images.tag, req.match["name"], repo, req.arg("tag") or None)
        events.publish("image", "tag", req.match["name"], {"name": repo})
        return Response(status=201, content_type="text/plain")

    async def remove(req: Request) -> Response:
        result = await asyncio.to_thread(images.remove, req.match["name"], req.flag("force"),
                                         req.flag("noprune"), containers_using,
                                         containers_running)
        for item in result:
            for action, ref in item.items():
                events.publish("image", action.lower().replace("deleted", "delete"), ref, {"name": ref})
        return json_response(result)

    async def save(req: Request, names: list[str]) -> Response:
        if not names:
            raise errors.InvalidParameter("no image names given")
        for n in names:  # fail with 404 before the 200 goes out
            await asyncio.to_thread(images.resolve, n)
        return Response(content_type="application/x-tar",
                        stream=from_thread(lambda out: images.save(names, out)))

    async def save_many(req: Request) -> Response:
        return await save(req, req.query.get("names", []))

    async def save_one(req: Request) -> Response:
        return await save(req, [req.match["name"]])

    async def load(req: Request) -> Response:
        body = await spool(req, tmp_dir)
        try:
            lines = await asyncio.to_thread(images.load, body)
        finally:
            body.close()
        for line in lines:
            events.publish("image", "load", line.rsplit(" ", 1)[-1], {})
        # `quiet` only hides progress bars, which a load from a spooled body never has
        return Response(stream=_progress(*({"stream": l + "\n"} for l in lines)))

    async def prune(req: Request) -> Response:
        filters = req.json_arg("filters") or {}
        dangling = list(filters.get("dangling") or ["true"])  # a list, or a {"true": true} map
        dangling_only = str(dangling[0]).lower() not in ("false", "0")
        deleted: list[dict] = []
        for item in await asyncio.to_thread(images.list, False, {"dangling": ["true"]} if dangling_only else {}):
            if containers_using(item["Id"]):
                continue
            try:
                deleted += await asyncio.to_thread(images.remove, item["Id"], False, False, containers_using)
            except errors.Conflict:
                continue
        return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": 0})

    add("POST", "/images/create", create)
    add("GET", "/images/json", list_)
    add("POST", "/images/load", load)
    add("POST", "/images/prune", prune)
    add("GET", "/images/get", save_many)
    add("GET", "/images/{name:.+}/json", inspect)
    add("GET", "/images/{name:.+}/history", history)
    add("GET", "/images/{name:.+}/get", save_one)
    add("POST", "/images/{name:.+}/tag", tag)
    add("POST", "/images/{name:.+}/push", push)
    if distribution is not None:
        add("POST", "/auth", auth)
        add("GET", "/images/search", search)
        add("GET", "/distribution/{name:.+}/json", distribution_inspect)
    add("DELETE", "/images/{name:.+}", remove)


def _resolve_for_pull(images: Any, name: str) -> str:
    try:
        return images.resolve(name)
    except errors.NotFound:
        repo = name.split("@")[0].rsplit(":", 1)[0] if ":" in name.split("/")[-1] else name.split("@")[0]
        raise errors.NotFound(
            f"pull access denied for {repo}, repository does not exist or may require 'docker login': "
            "Dockyard cannot pull yet (no registry client); import the image instead") from None
