"""ImageService: the image operations the daemon calls (import, inspect, tag, rmi, rootfs...)."""
from __future__ import annotations

import builtins
import json
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO, Callable, Iterator

from ..errors import InvalidParameter, NotFound
from ..snapshots import Driver, mounter
from ..store.db import Database
from . import archive, query, remove as remover
from .config import import_config
from .reference import Reference, parse_any, parse_normalized
from ..snapshots.limits import DEFAULT as DEFAULT_LIMITS, UnpackLimits
from .store import ImageStore, hexof

_SHORT_RE = re.compile(r"^(sha256:)?[a-f0-9]{1,64}$")


class ImageService:
    """Images, tags and container root filesystems over one data root. Blocking, thread-safe."""

    def __init__(self, db: Database, data_root: Path, driver: str | Driver = "overlay",
                 limits: UnpackLimits = DEFAULT_LIMITS) -> None:
        self.store = ImageStore(db, data_root, driver, limits)
        self.store.recover()
        self.limits = limits  # also for archives unpacked outside images (PUT archive, build contexts)
        self._mounted: dict[str, str] = {}   # container ID -> where its rootfs is mounted
        self._mount_lock = threading.Lock()
        self._borrowed: dict[str, int] = {}  # container ID -> users of a temporary rootfs mount

    # -- names ------------------------------------------------------------------------
    def resolve(self, name: str) -> str:
        """Docker's GetImage: full ID, tag/digest reference, then ID prefix."""
        ref = parse_any(name)
        if isinstance(ref, str):
            if self.store.image(ref) is not None:
                return ref
            raise NotFound(f"No such image: {ref}")
        target = self.store.ref_target(str(ref.with_default_tag()))
        if target is not None and self.store.image(target) is not None:
            return target
        if _SHORT_RE.match(name):
            prefix = name if name.startswith("sha256:") else "sha256:" + name
            rows = self.store.db.query("SELECT id FROM images WHERE id >= ? AND id < ? LIMIT 2",
                                       (prefix, prefix + "g"))
            if len(rows) == 1:
                return str(rows[0]["id"])
            if len(rows) > 1:
                raise InvalidParameter(f"ambiguous image ID prefix {name}")
        raise NotFound(f"No such image: {ref.with_default_tag().familiar()}")

    def config(self, image_id: str) -> dict:
        return json.loads(self.store.config_bytes(self.resolve(image_id)))

    def tag(self, source: str, repo: str, tag: str | None) -> None:
        image_id = self.resolve(source)
        ref = parse_normalized(repo)
        if ref.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        ref = ref.with_tag(tag) if tag else ref.with_default_tag()
        self.add_tags(image_id, [ref])

    def add_tags(self, image_id: str, refs: list[Reference]) -> list[tuple[str, str]]:
        """Tag `image_id`; returns (familiar ref, old image ID) for tags that moved."""
        moved = []
        with self.store.lock, self.store.db.transaction() as cur:
            for ref in refs:
                old = self.store.set_ref(cur, str(ref), image_id, ref.digest is not None)
                if old is not None:
                    moved.append((ref.familiar(), old))
        return moved

    # -- reading -----------------------------------------------------------------------
    def inspect(self, name: str) -> dict:
        return query.inspect(self, self.resolve(name))

    def history(self, name: str) -> list[dict]:
        return query.history(self, self.resolve(name))

    def list(self, all: bool = False, filters: dict[str, list[str]] | None = None) -> list[dict]:
        return query.list_images(self, all, filters or {})

    # -- writing -----------------------------------------------------------------------
    def import_tar(self, stream: BinaryIO, repo: str | None, tag: str | None, changes: builtins.list[str] = [],
                   message: str = "", platform: str | None = None) -> str:
        """POST /images/create?fromSrc=-: one layer from a (gzip) tar, a fresh config, a tag."""
        ref = None
        if repo:
            ref = parse_normalized(repo)
            ref = ref.with_tag(tag) if tag else ref.with_default_tag()
        layer = self.store.read_layer(stream, None)
        try:
            config = import_config(layer.diff_id, changes, message, platform)
            with self.store.lock:
                self.store.commit_layers([layer])
                image_id = self.store.add_image(config, layer.chain_id)
        except BaseException:
            self.store.discard([layer])
            raise
        if ref is not None:
            self.add_tags(image_id, [ref])
        return image_id

    def load(self, stream: BinaryIO) -> builtins.list[str]:
        return archive.load(self, stream)

    def save(self, names: builtins.list[str], out: BinaryIO) -> None:
        archive.save(self, names, out)

    def remove(self, name: str, force: bool, noprune: bool, containers_using: Callable[[str], builtins.list[str]],
               containers_running: Callable[[str], builtins.list[str]] | None = None) -> builtins.list[dict]:
        """DELETE /images/{name} with Docker 20.10's conflict rules (see remove.py)."""
        return remover.remove(self, name, force, not noprune, containers_using, containers_running)

    # -- container root filesystems --------------------------------------------------------
    def prepare_rootfs(self, container_id: str, image_id: str) -> None:
        """A rw layer over the image; an empty `image_id` means scratch (the builder's FROM scratch)."""
        image_id = self.resolve(image_id) if image_id else ""
        with self.store.lock:
            top = self.store.image(image_id)["top_layer"] if image_id else None  # type: ignore[index]
            with self.store.db.transaction() as cur:
                cur.execute("INSERT OR REPLACE INTO image_rwlayers VALUES (?,?,?)", (container_id, image_id, top))
            self.store.driver.prepare(container_id, hexof(top) if top else None)

    def mount_rootfs(self, container_id: str, target: str) -> None:
        with self._mount_lock:
            mounter.mount(self.store.driver.mounts(container_id), target)
            self._mounted[container_id] = target

    def unmount_rootfs(self, container_id: str, target: str) -> None:
        with self._mount_lock:
            mounter.unmount(target)
            if self._mounted.get(container_id) == target:
                del self._mounted[container_id]

    def remove_rootfs(self, container_id: str) -> None:
        with self._mount_lock:
            target = self._mounted.pop(container_id, None)
            if target:
                mounter.unmount(target)
        with self.store.lock:
            row = self.store.db.query_one("SELECT chain_id FROM image_rwlayers WHERE container_id=?",
                                          (container_id,))
            self.store.driver.remove(container_id)
            with self.store.db.transaction() as cur:
                cur.execute("DELETE FROM image_rwlayers WHERE container_id=?", (container_id,))
            # A force-removed image may have left its layers to this container: free them now.
            if row is not None and row["chain_id"] and self.store.db.query_one(
                    "SELECT 1 FROM images WHERE top_layer=?", (row["chain_id"],)) is None:
                self.store.gc_layers(row["chain_id"])

    def export(self, container_id: str, out: IO[bytes]) -> None:
        """GET /containers/{id}/export: the merged filesystem as a tar."""
        from ..snapshots.tarwrite import write_tree
        with self._mount_lock:
            target = self._mounted.get(container_id)
            temporary = target is None or not mounter.sysmount.is_mountpoint(target)
            if temporary:
                target = self.store.driver.merged_dir(container_id)
                mounter.mount(self.store.driver.mounts(container_id), target)
        try:
            write_tree(target, out)  # type: ignore[arg-type]
        finally:
            if temporary:
                mounter.unmount(target)  # type: ignore[arg-type]

    @contextmanager
    def rootfs(self, container_id: str) -> Iterator[str]:
        """The container's merged filesystem, mounted for the block if it is not already (archive API)."""
        with self._mount_lock:
            target = self._mounted.get(container_id)
            temporary = target is None or not mounter.sysmount.is_mountpoint(target)
            if temporary:
                target = self.store.driver.merged_dir(container_id)
                mounter.mount(self.store.driver.mounts(container_id), target)
                self._borrowed[container_id] = self._borrowed.get(container_id, 0) + 1
        try:
            yield target  # type: ignore[misc]
        finally:
            if temporary:
                with self._mount_lock:
                    left = self._borrowed.pop(container_id, 1) - 1
                    if left > 0:
                        self._borrowed[container_id] = left  # a concurrent copy still reads it
                    else:
                        mounter.unmount(target)  # type: ignore[arg-type]

    def rootfs_size(self, container_id: str) -> int:
        return self.store.driver.diff_size(container_id)

    def graph_driver(self, container_id: str) -> dict:
        return {"Name": self.store.driver.name, "Data": self.store.driver.metadata(container_id) or None}

    def diff(self, container_id: str, out: BinaryIO) -> None:
        """The container's changes as a layer tar (for commit)."""
        self.store.driver.diff(container_id, out)


