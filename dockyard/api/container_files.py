"""Routes on a container's files: the archive API (HEAD/GET/PUT /containers/{id}/archive) and commit."""
from __future__ import annotations

from typing import IO, Any, Callable, Protocol

from .. import errors
from ..containers import archive
from ..containers.model import Container
from .http import Request, Response, json_response
from .router import Router
from .streams import from_thread, spool

STAT_HEADER = "X-Docker-Container-Path-Stat"


class FilesBackend(Protocol):
    """containers/files.py ContainerFiles."""
    async def stat(self, ref: str, path: str) -> dict[str, Any]: ...
    async def get_archive(self, ref: str, path: str) -> tuple[dict[str, Any], Callable[[IO[bytes]], None]]: ...
    async def check_put(self, ref: str, path: str) -> Container: ...
    async def put_archive(self, c: Container, ref: str, path: str, body: IO[bytes], no_overwrite: bool,
                          copy_owner: bool) -> None: ...
    async def commit(self, ref: str, repo: str | None = None, tag: str | None = None, comment: str = "",
                     author: str = "", changes: list[str] | None = None, overrides: Any = None,
                     pause: bool = True) -> str: ...


def routes(router: Router, files: FilesBackend, tmp_dir: str) -> None:
    def path_of(req: Request) -> str:
        path = req.arg("path")
        if not path:
            raise errors.InvalidParameter("path is required")  # Docker's message for a missing path
        return path

    async def head(req: Request) -> Response:
        st = await files.stat(req.match["id"], path_of(req))
        return Response(headers=[(STAT_HEADER, archive.stat_header(st))])

    async def get(req: Request) -> Response:
        st, produce = await files.get_archive(req.match["id"], path_of(req))
        return Response(content_type="application/x-tar", headers=[(STAT_HEADER, archive.stat_header(st))],
                        stream=from_thread(produce))

    async def put(req: Request) -> Response:
        ref, path = req.match["id"], path_of(req)
        c = await files.check_put(ref, path)  # 404 / 400 / 403 before the body is read
        body = await spool(req, tmp_dir)
        try:
            await files.put_archive(c, ref, path, body, req.flag("noOverwriteDirNonDir"), req.flag("copyUIDGID"))
        finally:
            body.close()
        return Response(content_type="text/plain")

    async def commit(req: Request) -> Response:
        overrides = await req.json()
        changes = [line for value in req.query.get("changes", []) for line in value.splitlines() if line.strip()]
        image_id = await files.commit(req.arg("container") or "", repo=req.arg("repo") or None,
                                      tag=req.arg("tag") or None, comment=req.arg("comment") or "",
                                      author=req.arg("author") or "", changes=changes, overrides=overrides,
                                      pause=req.flag("pause", True))
        return json_response({"Id": image_id}, 201)

    router.add("HEAD", "/containers/{id}/archive", head)
    router.add("GET", "/containers/{id}/archive", get)
    router.add("PUT", "/containers/{id}/archive", put)
    router.add("POST", "/commit", commit)
