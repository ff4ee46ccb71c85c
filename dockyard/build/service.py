"""BuildService: what POST /build and /build/prune call; the build cache's share of /system/df;
clean-up after a daemon that died mid-build.
"""
from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable

from .. import errors
from ..store.db import Database
from ..timefmt import rfc3339
from . import dockerfile as dfmod
from .builder import Build, Emit
from .cache import BuildCache
from .context import BuildContext
from .options import BuildOptions
from .steps import Steps

log = logging.getLogger("dockyard.build")


@dataclass
class Prepared:
    """A build checked before its stream starts: its context, Dockerfile and target."""
    opts: BuildOptions
    ctx: BuildContext
    dockerfile: dfmod.Dockerfile
    target: int


class BuildService:
    def __init__(self, db: Database, images: Any, containers: Any, distribution: Any, tmp_dir: str,
                 containers_using: Callable[[str], list[str]]) -> None:
        self.images = images
        self.containers = containers
        self.cache = BuildCache(db)
        self.tmp_dir = tmp_dir
        self.containers_using = containers_using
        self.steps = Steps(images, containers, self.cache, distribution, tmp_dir)

    # -- start-up ----------------------------------------------------------------------------
    async def recover(self) -> None:
        """Remove what builds that died with the daemon left: rw layers, containers, temp dirs."""
        for ident, kind in self.cache.leftover_work():
            try:
                if kind == "container":
                    await self.containers.remove(ident, force=True, volumes=True)
                else:
                    self.images.remove_rootfs(ident)
            except errors.NotFound:
                pass
            except Exception:  # one bad leftover must not keep the daemon from starting
                log.exception("could not remove build leftover %s", ident)
            self.cache.end_work(ident)
        for d in glob.glob(os.path.join(self.tmp_dir, "build-*")) + glob.glob(os.path.join(self.tmp_dir, "add-*")):
            shutil.rmtree(d, ignore_errors=True)

    # -- building ----------------------------------------------------------------------------
    def prepare(self, opts: BuildOptions, body: BinaryIO) -> Prepared:
        """Unpack the context, read and parse the Dockerfile, find the target (blocking).

        Everything here fails as an HTTP error, before the build's stream starts.
        """
        ctx = BuildContext.unpack(body, self.tmp_dir, self.images.limits)
        try:
            text = ctx.dockerfile(opts.dockerfile)
            ctx.apply_dockerignore(opts.dockerfile)
            try:
                df = dfmod.parse(text)
            except dfmod.DockerfileError as e:
                raise errors.InvalidParameter(str(e)) from None
            target = len(df.stages) - 1
            if opts.target:
                found = df.stage_index(opts.target)
                if found is None:
                    raise errors.InvalidParameter(f"failed to reach build target {opts.target} in Dockerfile")
                target = found
            return Prepared(opts, ctx, df, target)
        except BaseException:
            ctx.close()
            raise

    async def build(self, prepared: Prepared, emit: Emit) -> str:
        """Run the build, streaming Docker's messages through `emit`; the context is removed after."""
        try:
            return await Build(self.steps, prepared.opts, prepared.ctx, prepared.dockerfile,
                               prepared.target, emit).run()
        finally:
            prepared.ctx.close()

    # -- cache usage and prune ----------------------------------------------------------------
    def _kept_images(self) -> set[str]:
        """Images a tag or a container holds, and all their ancestors."""
        db = self.images.store.db
        parents = {r["id"]: r["parent"] for r in db.query("SELECT id, parent FROM images")}
        roots = {r["image_id"] for r in db.query("SELECT image_id FROM image_refs")}
        roots |= {r["image_id"] for r in db.query("SELECT image_id FROM image_rwlayers")}
        kept: set[str] = set()
        for image_id in roots:
            while image_id and image_id not in kept:
                kept.add(image_id)
                image_id = parents.get(image_id, "")
        return kept

    def _own_size(self, image_id: str) -> int:
        row = self.images.store.image(image_id)
        if row is None:
            return 0
        parent = self.images.store.image(row["parent"]) if row["parent"] else None
        return max(0, int(row["size"]) - (int(parent["size"]) if parent else 0))

    def usage(self) -> list[dict[str, Any]]:
        """The BuildCache entries of GET /system/df (Docker 20.10's types.BuildCache)."""
        kept = self._kept_images()
        out = []
        for r in self.cache.records():
            out.append({"ID": r.key.split(":", 1)[1][:25], "Parent": r.parent.split(":", 1)[-1][:25],
                        "Type": "regular", "Description": r.description, "InUse": False,
                        "Shared": r.image_id in kept, "Size": self._own_size(r.image_id),
                        "CreatedAt": rfc3339(r.created), "LastUsedAt": rfc3339(r.last_used),
                        "UsageCount": r.usage_count})
        return out

    def prune(self, all_: bool, keep_storage: int, filters: dict[str, list[str]]) -> dict[str, Any]:
        """Forget cache records and delete the intermediate images nothing else holds."""
        for key in filters:
            if key not in ("until", "unused-for", "id", "type", "description", "inuse", "shared",
                           "private"):
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        until = [_duration(v) for v in filters.get("until", []) + filters.get("unused-for", [])]
        ids = filters.get("id", [])
        kept = self._kept_images()
        records = sorted(self.cache.records(), key=lambda r: r.last_used, reverse=True)
        candidates = []
        for r in records:
            if until and time.time() - r.last_used < min(until):
                continue
            if ids and not any(r.key.split(":", 1)[1].startswith(i) for i in ids):
                continue
            if r.image_id in kept and not all_:
                continue
            candidates.append(r)
        if keep_storage:
            budget, chosen = keep_storage, []
            for r in candidates:  # most recently used first: they stay while they fit
                size = self._own_size(r.image_id)
                if size <= budget:
                    budget -= size
                else:
                    chosen.append(r)
            candidates = chosen
        deleted, reclaimed = [], 0
        with self.images.store.lock:
            for r in candidates:
                deleted.append(r.key.split(":", 1)[1][:25])
                if r.image_id not in kept:
                    reclaimed += self._own_size(r.image_id)
            self.cache.forget(r.key for r in candidates)
            doomed = {r.image_id for r in candidates if r.image_id not in kept}
            children = {r["parent"] for r in self.images.store.db.query("SELECT parent FROM images")}
            for image_id in sorted(doomed - children):
                try:
                    self.images.remove(image_id, False, False, self.containers_using)
                except errors.DockyardError:
                    continue
        return {"CachesDeleted": deleted or None, "SpaceReclaimed": reclaimed}


def _duration(value: str) -> float:
    """Seconds of a Go duration ("24h", "1h30m", "90s") or a plain number of seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|m|s|ms)", value)
    if not parts or "".join(a + b for a, b in parts) != value:
        raise errors.InvalidParameter(f'time: invalid duration "{value}"')
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(a) * scale[b] for a, b in parts)
