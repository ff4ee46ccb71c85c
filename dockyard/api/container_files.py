"""Routes on a container's files: the archive API (HEAD/GET/PUT /containers/{id}/archive) and commit."""
from __future__ import annotations

import asyncio
import logging
from contextlib import contextmanager
from typing import IO, Any, Iterator

from .. import errors
from ..containers import archive, live
from ..containers.model import Container
from ..containers.user import resolve as resolve_user
from ..images import commit as committer
from .http import Request, Response, json_response
from .router import Router
from .streams import from_thread, spool

log = logging.getLogger(__name__)
STAT_HEADER = "X-Docker-Container-Path-Stat"


def routes(router: Router, svc: Any, images: Any, tmp_dir: str) -> None:
    parent = svc.cgroup_parent

    @contextmanager
    def frozen(c: Container) -> Iterator[None]:
        """Freeze a running container while its files are read or written, so its processes
        cannot swap a checked directory for a symlink in the middle (the docker cp race)."""
        cgroup = None
        if c.state.status == "running":
            try:
                cgroup = live.cgroup_of(c, parent)
                cgroup.freeze()
            except (OSError, errors.DockyardError) as e:
                log.warning("container %s: cannot freeze for a file copy: %s", c.short_id, e)
                cgroup = None
        try:
            yield
        finally:
            if cgroup is not None and c.state.status != "paused":
                cgroup.thaw()

    @contextmanager
    def view(c: Container) -> Iterator[str]:
        """The container's filesystem as its processes see it.

        A running container's root through /proc/<pid>/root includes its bind mounts and
        volumes (/etc/hostname, -v): what Docker's cp shows. A stopped one's rw layer is mounted.
        """
        if c.state.status in ("running", "paused") and c.state.pid:
            yield f"/proc/{c.state.pid}/root/."  # "/.": lstat sees the directory, not the magic link
        else:
            with images.rootfs(c.id) as root:
                yield root

    def path_of(req: Request) -> str:
        path = req.arg("path")
        if not path:
            raise errors.InvalidParameter("path is required")  # Docker's message for a missing path
        return path

    def stat_of(c: Container, ref: str, path: str) -> dict[str, Any]:
        with view(c) as root:
            return archive.stat_path(root, path, ref)

    async def head(req: Request) -> Response:
        ref, path = req.match["id"], path_of(req)
        c = svc.get(ref)
        st = await asyncio.to_thread(stat_of, c, ref, path)
        return Response(headers=[(STAT_HEADER, archive.stat_header(st))])

    async def get(req: Request) -> Response:
        ref, path = req.match["id"], path_of(req)
        c = svc.get(ref)
        st = await asyncio.to_thread(stat_of, c, ref, path)

        def produce(out: IO[bytes]) -> None:
            with view(c) as root, frozen(c):
                archive.write_tar(root, path, out)  # type: ignore[arg-type]

        return Response(content_type="application/x-tar", headers=[(STAT_HEADER, archive.stat_header(st))],
                        stream=from_thread(produce))

    async def put(req: Request) -> Response:
        ref, path = req.match["id"], path_of(req)
        c = svc.get(ref)
        if c.host_config.get("ReadonlyRootfs"):
            raise errors.Forbidden("container rootfs is marked read-only")
        no_overwrite = req.flag("noOverwriteDirNonDir")
        copy_owner = req.flag("copyUIDGID")

        def check() -> None:
            with view(c) as root:
                archive.extraction_dir(root, path, ref)  # 404 / 400 before the body is read

        def run(body: IO[bytes]) -> None:
            with view(c) as root, frozen(c):
                owner = None
                if copy_owner:
                    user = resolve_user(root, c.config.get("User") or "")
                    owner = (user.uid, user.gid)
                archive.extract(root, path, ref, body, no_overwrite, owner)  # type: ignore[arg-type]

        await asyncio.to_thread(check)
        body = await spool(req, tmp_dir)
        try:
            await asyncio.to_thread(run, body)
        finally:
            body.close()
        return Response(content_type="text/plain")

    async def commit(req: Request) -> Response:
        ref = req.arg("container") or ""
        c = svc.get(ref)
        overrides = await req.json()
        changes = [line for value in req.query.get("changes", []) for line in value.splitlines() if line.strip()]
        pause = req.flag("pause", True)

        def run() -> str:
            with frozen(c) if pause else _nothing():
                return committer.commit(
                    images, c.id, c.image_id, c.config, overrides=overrides, changes=changes,
                    comment=req.arg("comment") or "", author=req.arg("author") or "",
                    repo=req.arg("repo") or None, tag=req.arg("tag") or None)

        image_id = await asyncio.to_thread(run)
        svc._event(c, "commit", comment=req.arg("comment") or "", imageID=image_id,
                   imageRef=req.arg("repo") or "")
        return json_response({"Id": image_id}, 201)

    router.add("HEAD", "/containers/{id}/archive", head)
    router.add("GET", "/containers/{id}/archive", get)
    router.add("PUT", "/containers/{id}/archive", put)
    router.add("POST", "/commit", commit)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
