"""What the steps of a build do to the engine: base images, the cache, rw layers for COPY/ADD and
WORKDIR, containers for RUN, and commits through images/commit.py. Blocking work runs in threads
that a cancelled build waits for before it cleans up.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, TypeVar

from .. import errors
from ..images import commit as committer
from ..images.reference import Reference, short_id
from . import copy as copier
from . import remote
from . import run as runner
from .cache import BuildCache
from .cachefrom import find_in_sources
from .context import BuildContext
from .dockerfile import Instruction
from .metadata import StepError
from .options import BuildOptions
from .shell import expand
from .state import StageState

T = TypeVar("T")


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn` in a thread; if the build is cancelled meanwhile, wait for the thread to finish."""
    fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        await asyncio.wait([fut])
        raise


@dataclass
class CopyPlan:
    items: list[copier.Item]
    dest: str
    chown: str
    chmod: int | None
    unpack: bool
    downloads: str | None      # a temp dir of ADD <url> downloads, removed after the copy


class Steps:
    def __init__(self, images: Any, containers: runner.Containers, cache: BuildCache,
                 distribution: Any, tmp_dir: str) -> None:
        self.images = images
        self.containers = containers
        self.cache = cache
        self.distribution = distribution
        self.tmp_dir = tmp_dir

    # -- images ------------------------------------------------------------------------------
    async def tag(self, image_id: str, ref: Reference) -> None:
        await blocking(self.images.add_tags, image_id, [ref])

    async def image_config(self, image_id: str) -> dict[str, Any]:
        return await blocking(self.images.config, image_id)

    async def base_image(self, name: str, opts: BuildOptions, emit: Callable[[dict], None]) -> str:
        if not opts.pull:
            try:
                return await blocking(self.images.resolve, name)
            except errors.NotFound:
                if self.distribution is None:
                    raise
        if self.distribution is None:
            raise StepError("--pull needs the registry client")
        creds = remote.credentials_for(name, opts.registry_auth)
        ids = await blocking(self.distribution.pull, name, None, opts.platform or None, creds, emit)
        return ids[0] if ids else await blocking(self.images.resolve, name)

    # -- the cache ---------------------------------------------------------------------------
    async def lookup(self, key: str, parent: str | None, created_by: str, cfg: dict[str, Any],
                     cc: dict[str, Any], cache_from: list[str]) -> str | None:
        hit = await blocking(self.cache.lookup, key)
        if hit is None and cache_from:
            def restore() -> str | None:
                found = find_in_sources(self.images, parent, created_by, cfg, cc, cache_from)
                return self._record(key, found, parent, created_by) if found else None
            hit = await blocking(restore)
        return hit

    def _record(self, key: str, image_id: str, parent: str | None, comment: str) -> str:
        self.cache.store(key, image_id, parent, comment)
        return image_id

    # -- rw layers ---------------------------------------------------------------------------
    def _in_layer(self, parent: str | None, work: Callable[[str], None], cfg: dict[str, Any],
                  cc: dict[str, Any], created_by: str, author: str = "") -> str:
        """Run `work(root)` on a fresh rw layer over `parent`, commit it, drop the rw layer."""
        layer_id = "build-" + secrets.token_hex(16)
        self.cache.begin_work(layer_id, "layer")
        try:
            self.images.prepare_rootfs(layer_id, parent or "")
            with self.images.rootfs(layer_id) as root:
                work(root)
            return committer.child_image(self.images, parent, cfg, cc, created_by, layer_of=layer_id,
                                         author=author)
        finally:
            try:
                self.images.remove_rootfs(layer_id)
            finally:
                self.cache.end_work(layer_id)

    async def commit_config(self, parent: str | None, cfg: dict[str, Any], cc: dict[str, Any],
                            created_by: str, key: str, comment: str, author: str,
                            mkdir: str | None) -> str:
        def run() -> str:
            if mkdir:
                def make(root: str) -> None:
                    copier._mkdirs(copier.Target(root, mkdir, (0, 0), None), mkdir)
                new = self._in_layer(parent, make, cfg, cc, created_by, author)
            else:
                new = committer.child_image(self.images, parent, cfg, cc, created_by, author=author)
            return self._record(key, new, parent, comment)
        return await blocking(run)

    @asynccontextmanager
    async def context_root(self, ctx: BuildContext) -> AsyncIterator[tuple[str, bool]]:
        yield ctx.root, True

    @asynccontextmanager
    async def image_root(self, image_id: str | None) -> AsyncIterator[tuple[str, bool]]:
        """The root filesystem of a stage or image, for COPY --from (mounted for the step)."""
        if image_id is None:
            with tempfile.TemporaryDirectory(dir=self.tmp_dir) as empty:
                yield empty, False
            return
        layer_id = "build-" + secrets.token_hex(16)
        await blocking(self.cache.begin_work, layer_id, "layer")
        try:
            await blocking(self.images.prepare_rootfs, layer_id, image_id)
            cm = self.images.rootfs(layer_id)
            root = await blocking(cm.__enter__)
            try:
                yield root, False
            finally:
                await blocking(cm.__exit__, None, None, None)
        finally:
            await blocking(self.images.remove_rootfs, layer_id)
            await blocking(self.cache.end_work, layer_id)

    # -- COPY / ADD --------------------------------------------------------------------------
    async def plan_copy(self, state: StageState, inst: Instruction, root: str,
                        from_context: bool) -> tuple[str, CopyPlan]:
        env = state.env()
        try:
            words = [expand(w, env, state.escape) for w in inst.args]
            chown = expand(inst.flag("chown") or "", env, state.escape)
        except ValueError as e:
            raise StepError(str(e)) from None
        srcs, dest = words[:-1], words[-1]
        chmod = copier.parse_chmod(inst.flag("chmod"))
        workdir = state.config.get("WorkingDir") or "/"
        abs_dest = dest if dest.startswith("/") else os.path.join("/", workdir, dest)
        abs_dest = os.path.normpath(abs_dest) + ("/" if dest.endswith("/") and abs_dest != "/" else "")

        def plan() -> tuple[str, CopyPlan]:
            urls = [s for s in srcs if remote.is_url(s)]
            if urls and inst.name != "ADD":
                raise StepError("source can't be a URL for COPY")
            downloads = tempfile.mkdtemp(prefix="add-", dir=self.tmp_dir) if urls else None
            try:
                items = []
                for s in srcs:
                    if remote.is_url(s):
                        items.append(remote.download(s, downloads))  # type: ignore[arg-type]
                    else:
                        items += copier.resolve_sources(root, [s], inst.name, from_context)
                digest = copier.source_hash(items)
            except BaseException:
                if downloads:
                    shutil.rmtree(downloads, ignore_errors=True)
                raise
            chown_part = f"--chown={chown}" if chown else ""
            comment = f"{inst.name} {chown_part}{digest} in {abs_dest} "
            return comment, CopyPlan(items, abs_dest, chown, chmod, inst.name == "ADD", downloads)
        return await blocking(plan)

    async def commit_copy(self, state: StageState, cfg: dict[str, Any], cc: dict[str, Any],
                          created_by: str, key: str, comment: str, plan: CopyPlan) -> str:
        parent = state.image_id

        def work(root: str) -> None:
            owner = copier.chown_ids(root, plan.chown)
            copier.copy_items(plan.items, copier.Target(root, plan.dest, owner, plan.chmod, self.images.limits),
                              "COPY" if not plan.unpack else "ADD", plan.unpack)

        def run() -> str:
            try:
                return self._record(key, self._in_layer(parent, work, cfg, cc, created_by, state.author),
                                    parent, comment)
            finally:
                if plan.downloads:
                    shutil.rmtree(plan.downloads, ignore_errors=True)
        return await blocking(run)

    # -- RUN ---------------------------------------------------------------------------------
    async def commit_run(self, state: StageState, cfg: dict[str, Any], cc: dict[str, Any],
                         created_by: str, key: str, argv: list[str], env: list[str],
                         opts: BuildOptions, say: Callable[[str], None]) -> str:
        parent = state.image_id
        assert parent is not None
        body = runner.container_body(parent, state.config, argv, env, opts.host)
        created: list[str] = []

        def on_created(cid: str) -> None:
            created.append(cid)
            self.cache.begin_work(cid, "container")
            say(f" ---> Running in {short_id(cid)}\n")

        def output(data: bytes) -> None:
            say(data.decode("utf-8", errors="replace"))

        keep = False
        try:
            cid, code = await runner.run_container(self.containers, body, on_created, output)
            if code != 0:
                keep = not opts.force_rm
                raise StepError(f"The command '{' '.join(argv)}' returned a non-zero code: {code}", code)
            new = await blocking(lambda: committer.child_image(
                self.images, parent, cfg, cc, created_by, layer_of=cid, container_id=cid,
                author=state.author))
            await blocking(self._record, key, new, parent, created_by)
            keep = not opts.rm
            if opts.rm:
                await self._remove(cid)
                created.remove(cid)
                await blocking(self.cache.end_work, cid)
                say(f"Removing intermediate container {short_id(cid)}\n")
            return new
        finally:
            for cid in created:  # failed, cancelled, or kept: what Docker's rm/forcerm say
                if not keep:
                    await asyncio.shield(self._remove(cid))
                await asyncio.shield(blocking(self.cache.end_work, cid))

    async def _remove(self, cid: str) -> None:
        try:
            await self.containers.remove(cid, force=True, volumes=True)
        except errors.NotFound:
            pass

