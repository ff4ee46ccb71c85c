"""A container's files: archive stat/read/write (docker cp), changes (diff), export, and commit."""
from __future__ import annotations

import asyncio
import logging
from contextlib import contextmanager, nullcontext
from typing import IO, Any, Callable, Iterator

from .. import errors
from ..images import commit as committer
from . import archive
from . import changes as changeslib
from . import live
from .model import Container
from .records import ContainerRecords
from .seams import Images
from .user import resolve as resolve_user

log = logging.getLogger("dockyard.containers")


class ContainerFiles:
    def __init__(self, records: ContainerRecords, images: Images, cgroup_parent: str) -> None:
        self.records = records
        self.images = images
        self.cgroup_parent = cgroup_parent

    @contextmanager
    def _frozen(self, c: Container) -> Iterator[None]:
        """Freeze a running container while its files are read or written, so its processes
        cannot swap a checked directory for a symlink in the middle (the docker cp race)."""
        cgroup = None
        if c.state.status == "running":
            try:
                cgroup = live.cgroup_of(c, self.cgroup_parent)
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
    def _view(self, c: Container) -> Iterator[str]:
        """The container's filesystem as its processes see it.

        A running container's root through /proc/<pid>/root includes its bind mounts and
        volumes (/etc/hostname, -v): what Docker's cp shows. A stopped one's rw layer is mounted.
        """
        if c.state.status in ("running", "paused") and c.state.pid:
            yield f"/proc/{c.state.pid}/root/."  # "/.": lstat sees the directory, not the magic link
        else:
            with self.images.rootfs(c.id) as root:
                yield root

    def _stat(self, c: Container, ref: str, path: str) -> dict[str, Any]:
        with self._view(c) as root:
            return archive.stat_path(root, path, ref)

    # archive ------------------------------------------------------------------------------
    async def stat(self, ref: str, path: str) -> dict[str, Any]:
        c = self.records.get(ref)
        return await asyncio.to_thread(self._stat, c, ref, path)

    async def get_archive(self, ref: str, path: str) -> tuple[dict[str, Any], Callable[[IO[bytes]], None]]:
        """The path's stat, and a (blocking) writer of its tar, run while the answer streams."""
        c = self.records.get(ref)
        st = await asyncio.to_thread(self._stat, c, ref, path)

        def produce(out: IO[bytes]) -> None:
            with self._view(c) as root, self._frozen(c):
                archive.write_tar(root, path, out)  # type: ignore[arg-type]

        return st, produce

    async def check_put(self, ref: str, path: str) -> Container:
        """Refuse a PUT before its body is read: 404 / 400 / 403."""
        c = self.records.get(ref)
        if c.host_config.get("ReadonlyRootfs"):
            raise errors.Forbidden("container rootfs is marked read-only")

        def check() -> None:
            with self._view(c) as root:
                archive.extraction_dir(root, path, ref)

        await asyncio.to_thread(check)
        return c

    async def put_archive(self, c: Container, ref: str, path: str, body: IO[bytes], no_overwrite: bool,
                          copy_owner: bool) -> None:
        def run() -> None:
            with self._view(c) as root, self._frozen(c):
                owner = None
                if copy_owner:
                    user = resolve_user(root, c.config.get("User") or "")
                    owner = (user.uid, user.gid)
                archive.extract(root, path, ref, body, no_overwrite, owner,  # type: ignore[arg-type]
                                self.images.limits)

        await asyncio.to_thread(run)

    # diff, export, commit -------------------------------------------------------------------
    async def changes(self, ref: str) -> list[dict[str, Any]] | None:
        c = self.records.get(ref)
        data = (await asyncio.to_thread(self.images.graph_driver, c.id)).get("Data") or {}
        upper = data.get("UpperDir")
        if not upper:
            return None
        lowers = [d for d in (data.get("LowerDir") or "").split(":") if d]
        return await asyncio.to_thread(changeslib.changes, upper, lowers) or None

    def exporter(self, ref: str) -> Callable[[IO[bytes]], None]:
        """A (blocking) writer of the container's filesystem as a tar; 404 now, not mid-stream."""
        c = self.records.get(ref)
        return lambda out: self.images.export(c.id, out)

    async def commit(self, ref: str, repo: str | None = None, tag: str | None = None, comment: str = "",
                     author: str = "", changes: list[str] | None = None, overrides: Any = None,
                     pause: bool = True) -> str:
        """A new image from the container's rw layer (frozen meanwhile, unless `pause` is off)."""
        c = self.records.get(ref)

        def run() -> str:
            with self._frozen(c) if pause else nullcontext():
                return committer.commit(
                    self.images, c.id, c.image_id, c.config, overrides=overrides, changes=changes or [],
                    comment=comment, author=author, repo=repo, tag=tag)

        image_id = await asyncio.to_thread(run)
        self.records.event(c, "commit", comment=comment, imageID=image_id, imageRef=repo or "")
        return image_id
