"""Container lifecycle: create, start, stop, kill, wait, remove, and recovery after a restart."""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import shutil
import subprocess
import signal as signals
from pathlib import Path
from typing import Any, Protocol

from .. import errors
from ..cgroups import open_cgroup
from ..timefmt import ZERO, rfc3339
from . import createconfig
from .model import Container, State
from .prepare import prepare_bundle
from .store import ContainerStore

log = logging.getLogger("dockyard.containers")


class Images(Protocol):
    def resolve(self, name: str) -> str: ...
    def config(self, image_id: str) -> dict: ...
    def prepare_rootfs(self, container_id: str, image_id: str) -> None: ...
    def mount_rootfs(self, container_id: str, target: str) -> None: ...
    def unmount_rootfs(self, container_id: str, target: str) -> None: ...
    def remove_rootfs(self, container_id: str) -> None: ...


class Events(Protocol):
    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None: ...


def parse_signal(value: str | int | None, default: int = signals.SIGKILL) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int) or str(value).isdigit():
        num = int(value)
        if num <= 0 or num >= signals.NSIG:
            raise errors.InvalidParameter(f"Invalid signal: {value}")
        return num
    name = str(value).upper()
    name = name if name.startswith("SIG") else "SIG" + name
    try:
        return int(getattr(signals.Signals, name))
    except AttributeError:
        raise errors.InvalidParameter(f"Invalid signal: {value}") from None


class ContainerService:
    def __init__(self, data_root: Path, exec_root: Path, store: ContainerStore, images: Images,
                 supervisor: Any, events: Events, runtime: str = "builtin",
                 cgroup_parent: str = "dockyard") -> None:
        self.data_root = data_root
        self.exec_root = exec_root
        self.store = store
        self.images = images
        self.supervisor = supervisor
        self.events = events
        self.runtime = runtime
        self.cgroup_parent = cgroup_parent
        self._locks: dict[str, asyncio.Lock] = {}
        self._exit_waiters: dict[str, list[asyncio.Future[dict]]] = {}
        self._remove_waiters: dict[str, list[asyncio.Future[dict]]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._pending_attaches: dict[str, list[tuple[asyncio.Future[Any], tuple[bool, bool, bool]]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _lock(self, cid: str) -> asyncio.Lock:
        return self._locks.setdefault(cid, asyncio.Lock())

    def get(self, ref: str) -> Container:
        return self.store.get(ref)

    def _event(self, c: Container, action: str, **extra: str) -> None:
        self.events.publish("container", action, c.id,
                            {"image": c.image, "name": c.name, **(c.config.get("Labels") or {}), **extra})

    # create ----------------------------------------------------------------------------
    async def create(self, name: str | None, body: Any) -> Container:
        if not isinstance(body, dict):
            raise errors.InvalidParameter("config cannot be empty in order to create a container")
        image_ref = body.get("Image")
        if not image_ref or not isinstance(image_ref, str):
            raise errors.InvalidParameter("Config.Image: image name is required")
        createconfig.check_types(body)  # a badly typed body is a 400 before any image lookup
        name = createconfig.validate_name(name) if name else None
        image_id = await asyncio.to_thread(self.images.resolve, image_ref)
        image_config = await asyncio.to_thread(self.images.config, image_id)
        config, host_config = createconfig.build(body, image_config)
        cid = secrets.token_hex(32)
        if name is None:
            name = createconfig.random_name(self.store.names())
        entry = (config.get("Entrypoint") or []) + (config.get("Cmd") or [])
        root_dir = self.data_root / "containers" / cid
        c = Container(id=cid, name=name, image=image_ref, image_id=image_id, created=rfc3339(),
                      path=entry[0], args=entry[1:], config=config, host_config=host_config,
                      root_dir=str(root_dir), rootfs=str(root_dir / "rootfs"))
        if not c.config.get("Hostname"):
            c.config["Hostname"] = c.short_id
        self.store.add(c)  # reserves the name first: a conflict leaves nothing on disk
        try:
            await asyncio.to_thread(self._make_dirs_and_rootfs, c)
        except BaseException:
            self.store.remove(c)
            await asyncio.to_thread(self._remove_files, c)
            raise
        self._event(c, "create")
        return c

    def _make_dirs_and_rootfs(self, c: Container) -> None:
        os.makedirs(c.root_dir, mode=0o710, exist_ok=True)
        open(c.log_path, "a").close()
        self.images.prepare_rootfs(c.id, c.image_id)

    # start -----------------------------------------------------------------------------
    async def start(self, ref: str) -> None:
        c = self.get(ref)
        async with self._lock(c.id):
            if c.state.running:
                raise errors.NotModified("container already started")
            if c.state.status in ("removing", "dead"):
                raise errors.Conflict(f"container {c.id} is marked for removal and cannot be started")
            try:
                await self._start_locked(c)
            except errors.DockyardError:
                if c.host_config.get("AutoRemove"):
                    self._spawn(self._auto_remove(c))
                raise

    def _spawn(self, coro: Any) -> None:
        """A background task held strongly until it ends (asyncio keeps only weak references)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_locked(self, c: Container) -> None:
        bundle = str(self.exec_root / "bundles" / c.id)
        try:
            await asyncio.to_thread(prepare_bundle, c, self.images, bundle,
                                    self.cgroup_parent)
            pid = await self.supervisor.create(
                c.id, bundle, c.log_path, tty=bool(c.config.get("Tty")),
                open_stdin=bool(c.config.get("OpenStdin")), runtime=self.runtime)
            # If the daemon dies from here until the state is saved, restore() finds a
            # supervisor record for a "created" container and deletes it.
            await self._bind_pending_attaches(c, None)
            await self.supervisor.start(c.id)
        except errors.DockyardError as e:
            await self._abort_start(c, bundle, e)
            raise
        except Exception as e:  # a host failure is still reported, and nothing is left mounted
            await self._abort_start(c, bundle, e)
            raise errors.SystemError_(f"failed to start container: {e}") from e
        c.state = State(status="running", pid=pid, started_at=rfc3339())
        self._watchers[c.id] = asyncio.get_running_loop().create_task(self._watch(c))
        self.store.save(c)
        self._event(c, "start")

    async def _abort_start(self, c: Container, bundle: str, e: Exception) -> None:
        try:
            await self.supervisor.delete(c.id)  # kills what the runtime may have created
        except errors.DockyardError:
            pass
        await self._start_failed(c, bundle, e)

    async def _start_failed(self, c: Container, bundle: str, e: Exception) -> None:
        await self._bind_pending_attaches(c, e)
        message = getattr(e, "message", str(e))
        code = getattr(e, "exit_code", 127) if isinstance(e, errors.ExecNotFound) else 128
        never_started = c.state.started_at == ZERO
        c.state = State(status="created" if never_started else "exited", exit_code=code,
                        error=message, started_at=c.state.started_at,
                        finished_at=c.state.finished_at)
        self.store.save(c)
        await asyncio.to_thread(self._release_rootfs, c, bundle)

    def _release_rootfs(self, c: Container, bundle: str | None = None) -> None:
        try:
            self.images.unmount_rootfs(c.id, c.rootfs)
        except Exception:
            log.exception("unmount of %s failed", c.id)
        shutil.rmtree(bundle or str(self.exec_root / "bundles" / c.id), ignore_errors=True)

    # exit ------------------------------------------------------------------------------
    async def _watch(self, c: Container) -> None:
        try:
            record = await self.supervisor.wait_exit(c.id)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the supervisor went away: nobody holds the container's stdio
            log.warning("lost track of container %s: %s", c.id, e)
            await asyncio.to_thread(self._kill_orphan, c)
            record = {"exit_code": 255, "oom_killed": False, "finished_at": rfc3339()}
        await self._on_exit(c, record)

    def _kill_orphan(self, c: Container) -> None:
        """End what is left of a container whose supervisor died, and free its cgroup."""
        cgroup = open_cgroup(f"/{self.cgroup_parent}/{c.id}")
        try:
            if cgroup.exists():
                cgroup.kill_all()
                cgroup.delete()
        except Exception:
            log.exception("could not clean up the cgroup of %s", c.id)

    async def _on_exit(self, c: Container, record: dict) -> None:
        async with self._lock(c.id):
            self._watchers.pop(c.id, None)
            c.state = State(status="exited", exit_code=int(record.get("exit_code", 255)),
                            oom_killed=bool(record.get("oom_killed")),
                            started_at=c.state.started_at,
                            finished_at=record.get("finished_at") or rfc3339())
            if c.id in self.store.ids():
                self.store.save(c)
            try:
                await self.supervisor.delete(c.id)
            except errors.NotFound:
                pass
            except Exception as e:  # the exit is recorded; waiters and events must still follow
                log.warning("supervisor could not forget %s: %s", c.id, e)
            await asyncio.to_thread(self._release_rootfs, c)
        if c.state.oom_killed:
            self._event(c, "oom")
        self._event(c, "die", exitCode=str(c.state.exit_code))
        result = self._wait_result(c)
        for fut in self._exit_waiters.pop(c.id, []):
            if not fut.done():
                fut.set_result(result)
        if c.host_config.get("AutoRemove"):
            await self._auto_remove(c)

    async def _auto_remove(self, c: Container) -> None:
        try:
            await self.remove(c.id, force=True)
        except errors.NotFound:
            pass
        except Exception:
            log.exception("auto-remove of %s failed", c.id)

    @staticmethod
    def _wait_result(c: Container) -> dict:
        return {"StatusCode": c.state.exit_code,
                "Error": {"Message": c.state.error} if c.state.error else None}

    def register_exit_waiter(self, c: Container, condition: str) -> "asyncio.Future[dict]":
        """Subscribe at once to `condition` ("not-running", "next-exit", "removed") for `c`.

        Subscribing is synchronous so that a wait sent before a start never misses the exit.
        """
        if condition not in ("not-running", "next-exit", "removed"):
            raise errors.InvalidParameter(f"invalid condition: {condition}")
        fut: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        if condition == "removed":
            if c.id not in self.store.ids():
                fut.set_result(self._wait_result(c))
                return fut
            waiters = self._remove_waiters.setdefault(c.id, [])
        elif condition == "not-running" and not c.state.running:
            fut.set_result(self._wait_result(c))
            return fut
        else:
            waiters = self._exit_waiters.setdefault(c.id, [])
        waiters.append(fut)
        # a client that goes away cancels its wait: forget it rather than keep it till the exit
        fut.add_done_callback(lambda f: f.cancelled() and f in waiters and waiters.remove(f))
        return fut

    def attach(self, c: Container, stdin: bool, stdout: bool, stderr: bool) -> "asyncio.Future[Any]":
        """The container's stdio streams, now if it runs, or from its next start if it is created.

        `docker run` attaches before it starts the container and must see the first byte, so an
        attach to a created container is bound between the runtime's create and start.
        """
        if c.state.status not in ("created", "running"):
            raise errors.Conflict("You cannot attach to a stopped container, start it first")
        want = (stdin and bool(c.config.get("OpenStdin")), stdout, stderr)
        if c.state.status == "running":
            return asyncio.ensure_future(self.supervisor.attach(
                c.id, stdin=want[0], stdout=want[1], stderr=want[2]))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending_attaches.setdefault(c.id, []).append((fut, want))
        return fut

    async def _bind_pending_attaches(self, c: Container, error: BaseException | None) -> None:
        for fut, (stdin, stdout, stderr) in self._pending_attaches.pop(c.id, []):
            if fut.done():
                continue
            if error is not None:
                fut.set_result(None)
                continue
            try:
                fut.set_result(await self.supervisor.attach(c.id, stdin=stdin, stdout=stdout,
                                                            stderr=stderr))
            except errors.DockyardError:
                fut.set_result(None)

    # stop / kill -----------------------------------------------------------------------
    async def kill(self, ref: str, signal: str | int | None = None) -> None:
        c = self.get(ref)
        signum = parse_signal(signal)
        not_running = errors.Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        if not c.state.running:
            raise not_running
        try:
            await self.supervisor.kill(c.id, signum)
        except errors.NotFound:  # it exited between the check and the kill
            raise not_running from None
        self._event(c, "kill", signal=str(signum))

    async def stop(self, ref: str, timeout: int | None = None) -> None:
        c = self.get(ref)
        if not c.state.running:
            raise errors.NotModified("container already stopped")
        await self._stop(c, timeout)

    async def _stop(self, c: Container, timeout: int | None) -> None:
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            timeout = 10 if timeout is None else timeout
        stop_signal = parse_signal(c.config.get("StopSignal"), signals.SIGTERM)
        exited = self.register_exit_waiter(c, "not-running")
        try:
            if timeout != 0:
                await self.supervisor.kill(c.id, stop_signal)
            if timeout is not None and timeout >= 0:
                await asyncio.wait_for(asyncio.shield(exited), timeout=max(timeout, 0) or 0.001)
            else:
                await exited
        except (asyncio.TimeoutError, errors.NotFound, errors.Conflict):
            if c.state.running:
                try:
                    await self.supervisor.kill(c.id, signals.SIGKILL)
                except (errors.NotFound, errors.Conflict):
                    pass
                await exited
        self._event(c, "stop")

    async def restart(self, ref: str, timeout: int | None = None) -> None:
        c = self.get(ref)
        if c.state.running:
            await self._stop(c, timeout)
        await self.start(c.id)
        self._event(c, "restart")

    # remove ----------------------------------------------------------------------------
    async def remove(self, ref: str, force: bool = False) -> None:
        c = self.get(ref)
        while True:
            if c.state.running:
                if not force:
                    raise errors.Conflict(
                        f"You cannot remove a running container {c.id}. Stop the container before "
                        "attempting removal or force remove")
                await self._kill_and_wait(c)
            async with self._lock(c.id):
                if c.id not in self.store.ids():
                    return  # a concurrent remove (auto-remove racing a user's rm) got here first
                if c.state.running:
                    continue  # started while we waited for the lock: decide again
                c.state.status = "removing"
                try:
                    await self.supervisor.delete(c.id)
                except errors.NotFound:
                    pass
                await asyncio.to_thread(self._remove_files, c)
                self.store.remove(c)
                break
        self._locks.pop(c.id, None)
        self._event(c, "destroy")
        self._release_waiters(c)

    async def _kill_and_wait(self, c: Container) -> None:
        exited = self.register_exit_waiter(c, "not-running")
        try:
            await self.supervisor.kill(c.id, signals.SIGKILL)
        except (errors.NotFound, errors.Conflict):
            pass
        await exited

    def _release_waiters(self, c: Container) -> None:
        """A removed container ends every wait and every attach still pending on it."""
        result = self._wait_result(c)
        for waiters in (self._remove_waiters, self._exit_waiters):
            for fut in waiters.pop(c.id, []):
                if not fut.done():
                    fut.set_result(result)
        for fut, _ in self._pending_attaches.pop(c.id, []):
            if not fut.done():
                fut.set_result(None)

    def _remove_files(self, c: Container) -> None:
        self._release_rootfs(c)
        try:
            self.images.remove_rootfs(c.id)
        except errors.NotFound:
            pass
        shutil.rmtree(c.root_dir, ignore_errors=True)

    # top -------------------------------------------------------------------------------
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
            raise errors.SystemError_("ps is not installed on the host") from None
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

    # rename ----------------------------------------------------------------------------
    async def rename(self, ref: str, new_name: str) -> None:
        c = self.get(ref)
        new = createconfig.validate_name(new_name)
        if new == c.name:
            raise errors.InvalidParameter("Renaming a container with the same name as its current name")
        if new in self.store.names():
            holder = self.get(new)
            raise errors.Conflict(
                f'Conflict. The container name "/{new}" is already in use by container "{holder.id}". '
                "You have to remove (or rename) that container to be able to reuse that name.")
        old = c.name
        c.name = new
        self.store.save(c)
        self._event(c, "rename", oldName="/" + old)

    # recovery --------------------------------------------------------------------------
    async def restore(self) -> None:
        """Reconcile the records with what the supervisor saw while the daemon was away."""
        records = {r["id"]: r for r in await self.supervisor.list()}
        adopted = set()
        for c in self.store.all():
            try:
                if await self._restore_one(c, records.get(c.id)):
                    adopted.add(c.id)
            except Exception:  # one bad record must not keep the daemon from starting
                log.exception("could not restore container %s", c.id)
        for cid in set(records) - adopted:
            try:
                await self.supervisor.delete(cid)
            except errors.DockyardError:
                pass

    async def _restore_one(self, c: Container, record: dict | None) -> bool:
        """True when the supervisor's record of `c` stays in use."""
        if c.state.status == "removing":
            await self.remove(c.id, force=True)
            return False
        if not c.state.running:
            # A "created" container with a supervisor record was being started when the daemon
            # died: the start was never acknowledged, so that process goes (the caller deletes it).
            return False
        if record and record.get("status") == "running":
            self._watchers[c.id] = asyncio.get_running_loop().create_task(self._watch(c))
            return True
        await self._on_exit(c, record if record and record.get("status") == "exited"
                            else {"exit_code": 255, "finished_at": rfc3339()})
        return True

    async def shutdown(self) -> None:
        for task in list(self._watchers.values()):
            task.cancel()
