"""Container lifecycle: create, start, stop, kill, wait, remove, and recovery after a restart."""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shlex
import subprocess
import signal as signals
from pathlib import Path
from typing import Any, Protocol

from .. import errors
from ..cgroups import open_cgroup
from ..linux import fstree
from ..timefmt import ZERO, parse_rfc3339, rfc3339
from . import createconfig
from . import mounts as mountslib
from . import restart as restartlib
from .model import Container, State
from .prepare import prepare_bundle
from .store import ContainerStore

log = logging.getLogger("dockyard.containers")
# How many times a watch waits for a new supervisor (each try may take its start-up timeout).
_SUPERVISOR_RETRIES = 5


class Images(Protocol):
    def resolve(self, name: str) -> str: ...
    def config(self, image_id: str) -> dict: ...
    def prepare_rootfs(self, container_id: str, image_id: str) -> None: ...
    def mount_rootfs(self, container_id: str, target: str) -> None: ...
    def unmount_rootfs(self, container_id: str, target: str) -> None: ...
    def remove_rootfs(self, container_id: str) -> None: ...


class Networking(Protocol):
    """The network seam (network/sandbox.py): plan at create, set up before the runtime, tear down."""
    def plan(self, c: Container, networking_config: Any) -> None: ...
    async def setup(self, c: Container) -> None: ...
    async def teardown(self, c: Container) -> None: ...
    async def restore(self, running: dict[str, Container]) -> None: ...


class _NoNetwork:
    def plan(self, c: Container, networking_config: Any) -> None:
        pass

    async def setup(self, c: Container) -> None:
        pass

    async def teardown(self, c: Container) -> None:
        pass

    async def restore(self, running: dict[str, Container]) -> None:
        pass


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
                 cgroup_parent: str = "dockyard", network: Networking | None = None,
                 volumes: Any = None) -> None:
        self.data_root = data_root
        self.exec_root = exec_root
        self.store = store
        self.images = images
        self.supervisor = supervisor
        self.events = events
        self.runtime = runtime
        self.cgroup_parent = cgroup_parent
        self.network: Networking = network or _NoNetwork()
        self.volumes = volumes  # volumes/service.py (None: containers without volumes)
        self._restarts: dict[str, asyncio.Task[None]] = {}
        self._backoffs: dict[str, restartlib.Backoff] = {}
        self._shutting_down = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._exit_waiters: dict[str, list[asyncio.Future[dict]]] = {}
        self._remove_waiters: dict[str, list[asyncio.Future[dict]]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._pending_attaches: dict[str, list[tuple[asyncio.Future[Any], tuple[bool, bool, bool]]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.health: Any = None  # health.HealthMonitor, set by the assembly (None: no health checks)

    def runtime_program(self, name: str) -> str:
        """The runtime to hand the supervisor: `builtin`, or the program of a runc-compatible runtime."""
        from ..runtime import catalog
        return catalog.resolve(name, getattr(self, "runtimes", None) or catalog.available())

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
        self.network.plan(c, body.get("NetworkingConfig"))  # unknown network, bad --ip/-p: 4xx
        img_cfg = image_config.get("config") or image_config.get("Config") or {}
        c.mounts = mountslib.parse_all(config, host_config, img_cfg.get("Volumes"),
                                       self._volumes_from)  # bad mount specs: 400, nothing made
        if c.mounts and self.volumes is None:
            raise errors.NotImplementedYet("volumes are not available in this daemon")
        self.store.add(c)  # reserves the name first: a conflict leaves nothing on disk
        try:
            await asyncio.to_thread(self._make_dirs_and_rootfs, c)
            if c.mounts:
                await asyncio.to_thread(mountslib.create_sources, c, self.volumes)
                self.store.save(c)
        except BaseException:
            self.store.remove(c)
            await asyncio.to_thread(self._remove_files, c)
            await asyncio.to_thread(self._remove_anonymous_volumes, c)
            raise
        self._event(c, "create")
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

    def _remove_anonymous_volumes(self, c: Container) -> None:
        for name in mountslib.anonymous_volumes(c):
            try:
                self.volumes.remove(name)
            except errors.DockyardError:
                pass  # still used by another container (--volumes-from), or gone

    def volume_users(self, name: str) -> list[str]:
        """Ids of the containers (running or not) that reference the volume `name`."""
        return [c.id for c in self.store.all() if name in mountslib.volume_names(c)]

    def _joined_namespaces(self, c: Container) -> dict[str, str]:
        """--ipc container:X and --pid container:X: the namespaces of X's running init."""
        joined = {}
        for key, typ, what in (("IpcMode", "ipc", "IPC"), ("PidMode", "pid", "PID")):
            mode = c.host_config.get(key) or ""
            if not mode.startswith("container:"):
                continue
            other = self.get(mode.split(":", 1)[1])
            if not other.state.running or not other.state.pid:
                raise errors.Conflict(f"cannot join {what} of a non running container: {other.id}")
            if typ == "ipc" and (other.host_config.get("IpcMode") or "private") not in ("shareable", "host"):
                raise errors.Conflict("non-shareable IPC (hint: use IpcMode:shareable for the donor "
                                      "container)")
            joined[typ] = f"/proc/{other.state.pid}/ns/{typ}"
            if typ == "ipc" and other.host_config.get("IpcMode") == "shareable":
                joined["shm"] = mountslib.shareable_shm_path(other)
        if c.host_config.get("IpcMode") == "shareable":
            joined["shm"] = mountslib.mount_shareable_shm(c)
        return joined

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
            if c.manually_stopped or c.restart_count:
                c.manually_stopped = False
                c.restart_count = 0
                self._backoffs.pop(c.id, None)
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
            await self.network.setup(c)  # the netns goes into config.json
            await asyncio.to_thread(prepare_bundle, c, self.images, bundle,
                                    self.cgroup_parent, self._joined_namespaces(c),
                                    self.volumes if c.mounts else None)
            pid = await self.supervisor.create(
                c.id, bundle, c.log_path, tty=bool(c.config.get("Tty")),
                open_stdin=bool(c.config.get("OpenStdin")),
                runtime=self.runtime_program(c.host_config.get("Runtime") or self.runtime))
            # If the daemon dies from here until the state is saved, restore() finds a
            # supervisor record for a "created" container and deletes it.
            await self._bind_pending_attaches(c, None)
            await self.supervisor.start(c.id)
        except errors.DockyardError as e:
            await self._abort_start(c, bundle, e)
            raise
        except Exception as e:  # a host failure is still reported, and nothing is left mounted
            await self._abort_start(c, bundle, e)
            raise errors.SystemFailure(f"failed to start container: {e}") from e
        except asyncio.CancelledError:
            # a stop during a restart's start, or daemon shutdown: undo what was set up so far
            # (network, mounts, runtime container), then let the cancellation go on
            await asyncio.shield(self._abort_start(c, bundle, None))
            raise
        c.state = State(status="running", pid=pid, started_at=rfc3339(), health=c.state.health)
        self._watchers[c.id] = asyncio.get_running_loop().create_task(self._watch(c))
        if self.health is not None:
            self.health.arm(c)
        self.store.save(c)
        self._event(c, "start")

    async def _abort_start(self, c: Container, bundle: str, e: Exception | None) -> None:
        """Undo a start that did not finish; `e` is what to record (None: a cancelled start)."""
        try:
            await self.supervisor.delete(c.id)  # kills what the runtime may have created
        except errors.DockyardError:
            # the supervisor died mid-create and the next one never heard of it: end what the
            # runtime may have left in the cgroup
            await asyncio.to_thread(self._kill_orphan, c)
        await self._network_down(c)
        await self._start_failed(c, bundle, e)

    async def _network_down(self, c: Container) -> None:
        try:
            await self.network.teardown(c)
        except Exception:  # never keeps an exit or a failed start from being recorded
            log.exception("network teardown of %s failed", c.id)

    async def _start_failed(self, c: Container, bundle: str, e: Exception | None) -> None:
        await self._bind_pending_attaches(c, e or errors.Conflict("start cancelled"))
        never_started = c.state.started_at == ZERO
        if e is None:
            code, message = c.state.exit_code, ""
        else:
            message = getattr(e, "message", str(e))
            code = getattr(e, "exit_code", 127) if isinstance(e, errors.ExecNotFound) else 128
        c.state = State(status="created" if never_started else "exited", exit_code=code,
                        error=message, started_at=c.state.started_at,
                        finished_at=c.state.finished_at)
        self.store.save(c)
        await asyncio.to_thread(self._release_rootfs, c, bundle)

    def _release_rootfs(self, c: Container, bundle: str | None = None) -> None:
        if c.mounts and self.volumes is not None:
            mountslib.release(c, self.volumes)
        if c.host_config.get("IpcMode") == "shareable":
            mountslib.unmount_shareable_shm(c)
        try:
            self.images.unmount_rootfs(c.id, c.rootfs)
        except Exception:
            log.exception("unmount of %s failed", c.id)
        fstree.remove_tree(bundle or str(self.exec_root / "bundles" / c.id), ignore_errors=True)

    # exit ------------------------------------------------------------------------------
    async def _watch(self, c: Container) -> None:
        lost = 0
        while True:
            try:
                record = await self.supervisor.wait_exit(c.id)
                break
            except asyncio.CancelledError:
                raise
            except errors.Unavailable as e:
                # The supervisor died; its keeper starts the next one, which adopts the container
                # with its stdio and learns its exit code: wait again there (the call reconnects).
                lost += 1
                if lost <= _SUPERVISOR_RETRIES:
                    log.warning("supervisor lost while watching %s (%s): waiting on the next one", c.id, e)
                    await asyncio.sleep(0.05 * lost)
                    continue
                error: Exception = e
            except Exception as e:  # noqa: BLE001 - judged below
                error = e
            # nobody holds the container any more (not found in the next supervisor, or none starts)
            log.warning("lost track of container %s: %s", c.id, error)
            await asyncio.to_thread(self._kill_orphan, c)
            record = {"exit_code": 255, "oom_killed": False, "finished_at": rfc3339()}
            break
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
            if self.health is not None:
                self.health.disarm(c.id)
            await self._network_down(c)
            c.state = State(status="exited", exit_code=int(record.get("exit_code", 255)),
                            oom_killed=bool(record.get("oom_killed")),
                            started_at=c.state.started_at, health=c.state.health,
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
        else:
            self._maybe_restart(c)

    # restart policies ------------------------------------------------------------------
    def _maybe_restart(self, c: Container) -> None:
        if self._shutting_down or c.id not in self.store.ids() or not restartlib.should_restart(
                c.host_config, c.state.exit_code, c.restart_count, c.manually_stopped):
            return
        try:
            ran_for = parse_rfc3339(c.state.finished_at) - parse_rfc3339(c.state.started_at)
        except ValueError:
            ran_for = 0.0
        delay = self._backoffs.setdefault(c.id, restartlib.Backoff()).next(ran_for)
        c.state.status = "restarting"
        self.store.save(c)
        task = asyncio.get_running_loop().create_task(self._restart_after(c, delay))
        self._restarts[c.id] = task
        task.add_done_callback(lambda t: self._restarts.get(c.id) is t and self._restarts.pop(c.id))

    async def _restart_after(self, c: Container, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self._lock(c.id):
            if c.state.status != "restarting" or c.id not in self.store.ids():
                return
            c.restart_count += 1
            try:
                await self._start_locked(c)
            except Exception as e:  # noqa: BLE001 - recorded in State.Error by the failed start
                log.warning("restart of %s failed: %s", c.id, e)

    def _cancel_restart(self, c: Container) -> bool:
        """A stop, kill or remove of a container waiting to restart: it stays down."""
        task = self._restarts.pop(c.id, None)
        if task is not None:
            task.cancel()
        if c.state.status == "restarting":
            c.state.status = "exited"
            if c.id in self.store.ids():
                self.store.save(c)
            return True
        return False

    async def _auto_remove(self, c: Container) -> None:
        try:
            await self.remove(c.id, force=True, volumes=True)  # --rm takes anonymous volumes too
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
        try:
            c = self.get(ref)
        except errors.NotFound as e:
            raise errors.NotFound(f"Cannot kill container: {ref}: {e}") from None
        signum = parse_signal(signal)
        not_running = errors.Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        if signum in (signals.SIGKILL, parse_signal(c.config.get("StopSignal"), signals.SIGTERM)):
            c.manually_stopped = True
        if self._cancel_restart(c) or not c.state.running:
            raise not_running
        await self._thaw_if_paused(c)
        # Docker's kill with SIGKILL answers once the container has stopped (inspect reads 137)
        exited = self.register_exit_waiter(c, "not-running") if signum == signals.SIGKILL else None
        try:
            await self.supervisor.kill(c.id, signum)
        except errors.NotFound:  # it exited between the check and the kill
            if exited is None:
                raise not_running from None
        self._event(c, "kill", signal=str(signum))
        if exited is not None:
            await exited

    async def _thaw_if_paused(self, c: Container) -> None:
        """A frozen process cannot act on a signal: stop/kill/rm of a paused container unpause it first."""
        if c.state.status == "paused":
            await asyncio.to_thread(open_cgroup(f"/{self.cgroup_parent}/{c.id}").thaw)
            c.state.status = "running"
            self.store.save(c)

    async def stop(self, ref: str, timeout: int | None = None) -> None:
        c = self.get(ref)
        c.manually_stopped = True
        if self._cancel_restart(c):
            self.store.save(c)
            self._event(c, "stop")
            return
        if not c.state.running:
            self.store.save(c)
            raise errors.NotModified("container already stopped")
        await self._stop(c, timeout)

    async def _stop(self, c: Container, timeout: int | None) -> None:
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            timeout = 10 if timeout is None else timeout
        stop_signal = parse_signal(c.config.get("StopSignal"), signals.SIGTERM)
        await self._thaw_if_paused(c)
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
    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        c = self.get(ref)
        if c.state.status == "restarting":
            if not force:
                raise errors.Conflict(
                    f"You cannot remove a restarting container {c.id}. Stop the container before "
                    "attempting removal or force remove")
            self._cancel_restart(c)
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
                if self.health is not None:
                    self.health.disarm(c.id)
                try:
                    await self.supervisor.delete(c.id)
                except errors.NotFound:
                    pass
                await asyncio.to_thread(self._remove_files, c)
                self.store.remove(c)
                if volumes and self.volumes is not None:
                    await asyncio.to_thread(self._remove_anonymous_volumes, c)
                break
        self._locks.pop(c.id, None)
        self._event(c, "destroy")
        self._release_waiters(c)

    async def _kill_and_wait(self, c: Container) -> None:
        await self._thaw_if_paused(c)
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
        fstree.remove_tree(c.root_dir, ignore_errors=True)

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
        await self.network.restore({c.id: c for c in self.store.all() if c.state.running})
        for c in self.store.all():
            if c.state.status == "restarting" and c.id not in self._restarts:  # died in a back-off
                c.state.status = "exited"
                self.store.save(c)
            if c.state.status == "exited" and c.state.started_at != ZERO and \
                    restartlib.start_on_daemon_start(c.host_config, c.manually_stopped):
                self._spawn(self._start_on_boot(c))
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
            # died: the start was never acknowledged, so that process goes (the caller deletes
            # it), and what the start had set up goes too (rootfs mount, bundle, shm, volumes).
            await asyncio.to_thread(self._release_rootfs, c)
            if c.host_config.get("AutoRemove"):  # as Docker: --rm containers that are down go
                await self._auto_remove(c)
            return False
        if record and record.get("status") == "running":
            for name in mountslib.volume_names(c):
                if self.volumes is not None:
                    self.volumes.adopt(name, c.id)
            self._watchers[c.id] = asyncio.get_running_loop().create_task(self._watch(c))
            if self.health is not None:
                self.health.arm(c, restored=True)
            return True
        if record and record.get("status") == "exited":
            await self._on_exit(c, record)
        else:
            # The supervisor that held it is gone (killed, or a new one after a crash): end what
            # is left in its cgroup, as when the supervisor dies under a running daemon.
            await asyncio.to_thread(self._kill_orphan, c)
            await self._on_exit(c, {"exit_code": 255, "finished_at": rfc3339()})
        return True

    async def _start_on_boot(self, c: Container) -> None:
        try:
            async with self._lock(c.id):
                if not c.state.running and c.id in self.store.ids():
                    await self._start_locked(c)
        except Exception as e:  # noqa: BLE001 - recorded in State.Error by the failed start
            log.warning("could not start %s on daemon start: %s", c.id, e)

    async def shutdown(self) -> None:
        self._shutting_down = True
        for task in list(self._restarts.values()):
            task.cancel()
        for task in list(self._watchers.values()):
            task.cancel()
        if self.health is not None:
            self.health.disarm_all()
