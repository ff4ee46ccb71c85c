"""ContainerService: the one entry to the container lifecycle for the API, the builder and the
daemon. It creates, renames and describes containers itself and hands the rest to the modules
that own it: lifecycle.py (start/stop/kill/remove, exits), waits.py (waits, attach binding),
restore.py (after a daemon restart), restart.py (restart manager), live.py, files.py."""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import subprocess
from pathlib import Path
from typing import IO, Any, AsyncIterator, Callable, Protocol

from .. import errors
from ..cgroups import open_cgroup
from ..logging import drivers as log_drivers
from ..logging import reader as logreader
from ..timefmt import rfc3339
from . import createconfig
from . import mounts as mountslib
from .files import ContainerFiles
from .lifecycle import Lifecycle, parse_signal
from .live import LiveOps
from .model import Container
from .records import ContainerRecords
from .restore import restore
from .seams import Health, Images, Networking, NoHealth, NoNetwork, Supervisor, Volumes
from .waits import Waits

__all__ = ["ContainerService", "parse_signal"]
log = logging.getLogger("dockyard.containers")


class ExecIds(Protocol):
    def ids_for(self, container_id: str) -> list[str]: ...


class ContainerService:
    def __init__(self, data_root: Path, exec_root: Path, records: ContainerRecords, images: Images,
                 supervisor: Supervisor, runtime: str = "builtin", cgroup_parent: str = "dockyard",
                 network: Networking | None = None, volumes: Volumes | None = None,
                 health: Health | None = None, runtimes: dict[str, str] | None = None,
                 execs: ExecIds | None = None, log_driver: str = "json-file",
                 log_opts: dict[str, str] | None = None) -> None:
        from ..runtime import catalog

        self.data_root = data_root
        self.records = records
        self.store = records.store
        self.images = images
        self.supervisor = supervisor
        self.runtime = runtime
        self.runtimes = runtimes if runtimes is not None else catalog.available()  # name -> program
        self.cgroup_parent = cgroup_parent
        self.network = network or NoNetwork()
        self.volumes = volumes  # volumes/service.py (None: containers without volumes)
        self.execs = execs
        self.log_driver, self.log_opts = log_driver, log_opts or {}  # daemon.json log-driver, log-opts
        self.waits = Waits(records, supervisor)
        self.lifecycle = Lifecycle(records, self.waits, images, supervisor, self.network, volumes,
                                   health or NoHealth(), exec_root, cgroup_parent,
                                   lambda c: self.runtime_program(c.host_config.get("Runtime") or self.runtime))
        self.live = LiveOps(records, cgroup_parent)
        self.files = ContainerFiles(records, images, cgroup_parent)

    def runtime_program(self, name: str) -> str:
        """The runtime to hand the supervisor: `builtin`, or the program of a runc-compatible runtime."""
        from ..runtime import catalog
        return catalog.resolve(name, self.runtimes)

    def get(self, ref: str) -> Container:
        return self.records.get(ref)

    def all(self) -> list[Container]:
        return self.records.all()

    def image_id_of(self, name: str) -> str | None:
        """For the ancestor filter: an image's id, None for a name no image has (Docker ignores it)."""
        try:
            return self.images.resolve(name)
        except (errors.NotFound, errors.InvalidParameter):
            return None

    # create ----------------------------------------------------------------------------
    async def create(self, name: str | None, body: Any) -> Container:
        if not isinstance(body, dict):
            raise errors.InvalidParameter("config cannot be empty in order to create a container")
        host = body.get("HostConfig")
        if isinstance(host, dict) and host.get("Runtime"):
            self.runtime_program(str(host["Runtime"]))  # unknown, or unusable here: 400 before anything is made
        image_ref = body.get("Image")
        if not image_ref or not isinstance(image_ref, str):
            raise errors.InvalidParameter("Config.Image: image name is required")
        createconfig.check_types(body)  # a badly typed body is a 400 before any image lookup
        log_config = log_drivers.effective((host or {}).get("LogConfig") if isinstance(host, dict) else None,
                                           self.log_driver, self.log_opts)  # Docker's message for a bad one
        name = createconfig.validate_name(name) if name else None
        image_id = await asyncio.to_thread(self.images.resolve, image_ref)
        image_config = await asyncio.to_thread(self.images.config, image_id)
        config, host_config = createconfig.build(body, image_config)
        host_config["LogConfig"] = log_config
        cid = secrets.token_hex(32)
        if name is None:
            name = createconfig.random_name(self.records.store.names())
        entry = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        root_dir = self.data_root / "containers" / cid
        c = Container(id=cid, name=name, image=image_ref, image_id=image_id, created=rfc3339(),
                      path=entry[0], args=entry[1:], config=config, host_config=host_config,
                      root_dir=str(root_dir), rootfs=str(root_dir / "rootfs"))
        if not c.config.get("Hostname"):
            c.config["Hostname"] = c.short_id
        if not c.host_config.get("Runtime"):
            c.host_config["Runtime"] = self.runtime  # inspect names the runtime, as Docker does
        self.network.plan(c, body.get("NetworkingConfig"))  # unknown network, bad --ip/-p: 4xx
        img_cfg = image_config.get("config") or image_config.get("Config") or {}
        c.mounts = mountslib.parse_all(config, host_config, img_cfg.get("Volumes"),
                                       self._volumes_from)  # bad mount specs: 400, nothing made
        volumes = self.volumes
        if c.mounts and volumes is None:
            raise errors.NotImplementedYet("volumes are not available in this daemon")
        self.records.store.add(c)  # reserves the name first: a conflict leaves nothing on disk
        try:
            await asyncio.to_thread(self._make_dirs_and_rootfs, c)
            if c.mounts and volumes is not None:
                await asyncio.to_thread(mountslib.create_sources, c, volumes)
                self.records.save(c)
        except BaseException:
            self.records.store.remove(c)
            await asyncio.to_thread(self.lifecycle.remove_files, c)
            if self.volumes is not None:
                await asyncio.to_thread(self.lifecycle.remove_anonymous_volumes, c)
            raise
        self.records.event(c, "create")
        return c

    def _volumes_from(self, ref: str) -> list[dict[str, Any]]:
        name, _, mode = ref.partition(":")
        if mode not in ("", "ro", "rw"):
            raise errors.InvalidParameter(f"invalid mode for volumes-from: {mode}")
        try:
            other = self.get(name)
        except errors.NotFound as e:  # a 404 from create makes the docker CLI pull the image
            raise errors.InvalidParameter(e.message) from None
        return mountslib.from_container(other, mode)

    def volume_users(self, name: str) -> list[str]:
        """Ids of the containers (running or not) that reference the volume `name`."""
        return self.records.volume_users(name)

    def _make_dirs_and_rootfs(self, c: Container) -> None:
        os.makedirs(c.root_dir, mode=0o710, exist_ok=True)
        if c.log_path:
            os.makedirs(os.path.dirname(c.log_path), exist_ok=True)
            open(c.log_path, "a").close()
        self.images.prepare_rootfs(c.id, c.image_id)

    # lifecycle (lifecycle.py) ---------------------------------------------------------
    async def start(self, ref: str) -> None:
        await self.lifecycle.start(self.get(ref))

    async def stop(self, ref: str, timeout: int | None = None) -> None:
        await self.lifecycle.stop(self.get(ref), timeout)

    async def kill(self, ref: str, signal: str | int | None = None) -> None:
        try:
            c = self.get(ref)
        except errors.NotFound as e:
            raise errors.NotFound(f"Cannot kill container: {ref}: {e}") from None
        await self.lifecycle.kill(c, ref, signal)

    async def restart(self, ref: str, timeout: int | None = None) -> None:
        await self.lifecycle.restart(self.get(ref), timeout)

    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        await self.lifecycle.remove(self.get(ref), force, volumes)

    async def prune(self) -> tuple[list[str], int]:
        """Remove every container that is not running: their ids and the space freed."""
        deleted, reclaimed = [], 0
        for c in list(self.records.all()):
            if not c.state.running:
                reclaimed += await asyncio.to_thread(self.images.rootfs_size, c.id)
                await self.lifecycle.remove(c)
                deleted.append(c.id)
        return deleted, reclaimed

    # waits and stdio (waits.py) --------------------------------------------------------
    def register_exit_waiter(self, c: Container, condition: str) -> "asyncio.Future[dict]":
        return self.waits.register(c, condition)

    async def wait(self, ref: str, condition: str = "not-running") -> dict[str, Any]:
        """Until `condition` holds: Docker's wait body ({"StatusCode", "Error"})."""
        return await self.waits.register(self.get(ref), condition)

    def attach(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> "asyncio.Future[Any]":
        return self.waits.attach(c, stdin, stdout, stderr)

    async def resize(self, ref: str, height: int, width: int) -> None:
        c = self.get(ref)
        if not c.state.running:
            raise errors.Conflict(f"Container {c.id} is not running")
        await self.supervisor.resize(c.id, height, width)

    async def log_entries(self, c: Container, wanted: set[str], tail: int | None = None, since: int = 0,
                          until: int | None = None, follow: bool = False) -> AsyncIterator[logreader.Entry]:
        """The container's log (the streams in `wanted`), then what it writes while it runs if `follow`."""
        if not log_drivers.get(c.log_type).readable:
            return  # attach's logs=1 replays nothing for the none driver
        async for batch in self.log_batches(c, wanted, tail, since, until, follow):
            for e in batch:
                yield e

    def log_batches(self, c: Container, wanted: set[str], tail: int | None = None, since: int = 0,
                    until: int | None = None, follow: bool = False) -> AsyncIterator[list[logreader.Entry]]:
        """log_entries in the batches they are read in (a full read of a big log renders per batch);
        a driver that cannot be read back (none) is Docker's 501 here, before anything is sent."""
        driver = log_drivers.get(c.log_type)
        return self._log_batches(c, driver, driver.reader(c.log_path, tail, since, until), wanted, follow)

    async def _log_batches(self, c: Container, driver: Any, reader: logreader.Reader, wanted: set[str],
                           follow: bool) -> AsyncIterator[list[logreader.Entry]]:
        since, until = reader.since, reader.until
        batches = reader.batches()
        both = wanted >= {"stdout", "stderr"}
        try:
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                yield batch if both else [e for e in batch if e.stream in wanted]
            if follow and c.state.running:
                async for e in driver.follow(reader.cursor, lambda: c.state.running, since, until):
                    if e.stream in wanted:
                        yield [e]
        finally:
            reader.cursor.close()

    # description -------------------------------------------------------------------------
    async def inspect(self, ref: str, size: bool = False) -> dict[str, Any]:
        c = self.get(ref)
        rw = await asyncio.to_thread(self.images.rootfs_size, c.id) if size else None
        graph = await asyncio.to_thread(self.images.graph_driver, c.id)
        data = c.to_inspect(graph, rw)
        if self.execs is not None:
            data["ExecIDs"] = self.execs.ids_for(c.id) or None
        return data

    async def summaries(self, found: list[Container], size: bool) -> list[dict[str, Any]]:
        out = []
        for c in found:
            s = c.to_summary()
            if size:
                s["SizeRw"] = await asyncio.to_thread(self.images.rootfs_size, c.id)
                s["SizeRootFs"] = s["SizeRw"]
            out.append(s)
        return out

    # top and rename ------------------------------------------------------------------
    def top(self, ref: str, ps_args: str) -> dict[str, Any]:
        """`docker top`: the host's `ps` output, filtered to the container's cgroup (blocking)."""
        c = self.get(ref)
        if not c.state.running:
            raise errors.Conflict(f"Container {c.id} is not running")
        pids = set(open_cgroup(f"/{self.cgroup_parent}/{c.id}").pids())
        args = shlex.split(ps_args or "-ef")
        try:
            out = subprocess.run(["ps", *args], capture_output=True, text=True, timeout=30)
        except FileNotFoundError:
            raise errors.SystemFailure("ps is not installed on the host") from None
        if out.returncode != 0:
            raise errors.InvalidParameter(f"ps: {out.stderr.strip() or 'failed'}")
        lines = out.stdout.splitlines()
        if not lines:
            return {"Titles": [], "Processes": []}
        titles = lines[0].split()
        if "PID" not in titles:
            raise errors.InvalidParameter("Couldn't find PID field in ps output")
        col = titles.index("PID")
        procs = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
                procs.append(fields)
        return {"Titles": titles, "Processes": procs}

    async def rename(self, ref: str, new_name: str) -> None:
        c = self.get(ref)
        new = createconfig.validate_name(new_name)
        if new == c.name:
            raise errors.InvalidParameter("Renaming a container with the same name as its current name")
        if new in self.records.store.names():
            holder = self.get(new)
            raise errors.Conflict(
                f'Conflict. The container name "/{new}" is already in use by container "{holder.id}". '
                "You have to remove (or rename) that container to be able to reuse that name.")
        old = c.name
        c.name = new
        self.records.save(c)
        self.records.event(c, "rename", oldName="/" + old)

    # files (files.py) --------------------------------------------------------------------
    def exporter(self, ref: str) -> Callable[[IO[bytes]], None]:
        """`docker export`: a (blocking) writer of the container's filesystem tar."""
        return self.files.exporter(ref)

    async def commit(self, ref: str, repo: str | None = None, tag: str | None = None, comment: str = "",
                     author: str = "", changes: list[str] | None = None, overrides: Any = None,
                     pause: bool = True) -> str:
        """A new image from the container (`docker commit`); its id."""
        return await self.files.commit(ref, repo, tag, comment, author, changes, overrides, pause)

    # daemon start and stop -----------------------------------------------------------------
    async def restore(self) -> None:
        """Reconcile the records with what the supervisor saw while the daemon was away."""
        await restore(self.lifecycle)

    async def shutdown(self) -> None:
        self.lifecycle.shutdown()

