"""The container lifecycle: start, stop, kill, restart, remove, and what follows an exit."""
from __future__ import annotations

import asyncio
import logging
import signal as signals
from pathlib import Path
from typing import Any, Callable, Coroutine

from .. import errors
from ..cgroups import open_cgroup
from ..linux import fstree
from ..timefmt import ZERO, rfc3339
from . import mounts as mountslib
from .model import Container, State
from .prepare import prepare_bundle
from .records import ContainerRecords
from .restart import RestartManager
from .seams import Health, Images, Networking, Supervisor, Volumes
from .waits import Waits

log = logging.getLogger("dockyard.containers")
# How many times a watch waits for a new supervisor (each try may take its start-up timeout).
_SUPERVISOR_RETRIES = 5


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


class Lifecycle:
    def __init__(self, records: ContainerRecords, waits: Waits, images: Images, supervisor: Supervisor,
                 network: Networking, volumes: Volumes | None, health: Health, exec_root: Path,
                 cgroup_parent: str, runtime_of: Callable[[Container], str]) -> None:
        self.records = records
        self.waits = waits
        self.images = images
        self.supervisor = supervisor
        self.network = network
        self.volumes = volumes
        self.health = health
        self.exec_root = exec_root
        self.cgroup_parent = cgroup_parent
        self.runtime_of = runtime_of  # the program the supervisor runs the container with
        self.restarts = RestartManager(records, self.start_locked)
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """A background task held strongly until it ends (asyncio keeps only weak references)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # start -----------------------------------------------------------------------------
    async def start(self, c: Container) -> None:
        async with self.records.lock(c.id):
            if c.state.running:
                raise errors.NotModified("container already started")
            if c.state.status in ("removing", "dead"):
                raise errors.Conflict(f"container {c.id} is marked for removal and cannot be started")
            self.restarts.reset(c)
            try:
                await self.start_locked(c)
            except errors.DockyardError:
                if c.host_config.get("AutoRemove"):
                    self.spawn(self.auto_remove(c))
                raise

    async def start_locked(self, c: Container) -> None:
        bundle = str(self.exec_root / "bundles" / c.id)
        try:
            await self.network.setup(c)  # the netns goes into config.json
            await asyncio.to_thread(prepare_bundle, c, self.images, bundle,
                                    self.cgroup_parent, self._joined_namespaces(c),
                                    self.volumes if c.mounts else None)
            pid = await self.supervisor.create(
                c.id, bundle, c.log_path, tty=bool(c.config.get("Tty")),
                open_stdin=bool(c.config.get("OpenStdin")), runtime=self.runtime_of(c),
                log={**(c.host_config.get("LogConfig") or {}), "Info": c.log_info()})
            # If the daemon dies from here until the state is saved, restore() finds a
            # supervisor record for a "created" container and deletes it.
            await self.waits.bind_pending(c, None)
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
        self.watch(c)
        self.health.arm(c)
        self.records.save(c)
        self.records.event(c, "start")

    async def _abort_start(self, c: Container, bundle: str, e: Exception | None) -> None:
        """Undo a start that did not finish; `e` is what to record (None: a cancelled start)."""
        try:
            await self.supervisor.delete(c.id)  # kills what the runtime may have created
        except errors.DockyardError:
            # the supervisor died mid-create and the next one never heard of it: end what the
            # runtime may have left in the cgroup
            await asyncio.to_thread(self.kill_orphan, c)
        await self._network_down(c)
        await self._start_failed(c, bundle, e)

    async def _network_down(self, c: Container) -> None:
        try:
            await self.network.teardown(c)
        except Exception:  # never keeps an exit or a failed start from being recorded
            log.exception("network teardown of %s failed", c.id)

    async def _start_failed(self, c: Container, bundle: str, e: Exception | None) -> None:
        await self.waits.bind_pending(c, e or errors.Conflict("start cancelled"))
        never_started = c.state.started_at == ZERO
        if e is None:
            code, message = c.state.exit_code, ""
        else:
            message = getattr(e, "message", str(e))
            code = getattr(e, "exit_code", 127) if isinstance(e, errors.ExecNotFound) else 128
        c.state = State(status="created" if never_started else "exited", exit_code=code,
                        error=message, started_at=c.state.started_at,
                        finished_at=c.state.finished_at)
        self.records.save(c)
        await asyncio.to_thread(self.release_rootfs, c, bundle)

    def release_rootfs(self, c: Container, bundle: str | None = None) -> None:
        """Undo what a start set up on the host (idempotent): volume mounts, shm, rootfs, bundle."""
        if c.mounts and self.volumes is not None:
            mountslib.release(c, self.volumes)
        if c.host_config.get("IpcMode") == "shareable":
            mountslib.unmount_shareable_shm(c)
        try:
            self.images.unmount_rootfs(c.id, c.rootfs)
        except Exception:
            log.exception("unmount of %s failed", c.id)
        fstree.remove_tree(bundle or str(self.exec_root / "bundles" / c.id), ignore_errors=True)

    def _joined_namespaces(self, c: Container) -> dict[str, str]:
        """--ipc container:X and --pid container:X: the namespaces of X's running init."""
        joined = {}
        for key, typ, what in (("IpcMode", "ipc", "IPC"), ("PidMode", "pid", "PID")):
            mode = c.host_config.get(key) or ""
            if not mode.startswith("container:"):
                continue
            other = self.records.get(mode.split(":", 1)[1])
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

    # exit ------------------------------------------------------------------------------
    def watch(self, c: Container) -> None:
        """Follow a running container until its exit is handled."""
        self._watchers[c.id] = asyncio.get_running_loop().create_task(self._watch(c))

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
            await asyncio.to_thread(self.kill_orphan, c)
            record = {"exit_code": 255, "oom_killed": False, "finished_at": rfc3339()}
            break
        await self.on_exit(c, record)

    def kill_orphan(self, c: Container) -> None:
        """End what is left of a container whose supervisor died, and free its cgroup."""
        cgroup = open_cgroup(f"/{self.cgroup_parent}/{c.id}")
        try:
            if cgroup.exists():
                cgroup.kill_all()
                cgroup.delete()
        except Exception:
            log.exception("could not clean up the cgroup of %s", c.id)

    async def on_exit(self, c: Container, record: dict[str, Any]) -> None:
        async with self.records.lock(c.id):
            self._watchers.pop(c.id, None)
            self.health.disarm(c.id)
            await self._network_down(c)
            c.state = State(status="exited", exit_code=int(record.get("exit_code", 255)),
                            oom_killed=bool(record.get("oom_killed")),
                            started_at=c.state.started_at, health=c.state.health,
                            finished_at=record.get("finished_at") or rfc3339())
            if self.records.exists(c):
                self.records.save(c)
            try:
                await self.supervisor.delete(c.id)
            except errors.NotFound:
                pass
            except Exception as e:  # the exit is recorded; waiters and events must still follow
                log.warning("supervisor could not forget %s: %s", c.id, e)
            await asyncio.to_thread(self.release_rootfs, c)
        if c.state.oom_killed:
            self.records.event(c, "oom")
        self.records.event(c, "die", exitCode=str(c.state.exit_code))
        self.waits.exited(c)
        if c.host_config.get("AutoRemove"):
            await self.auto_remove(c)
        else:
            self.restarts.after_exit(c)

    async def auto_remove(self, c: Container) -> None:
        try:
            await self.remove(c, force=True, volumes=True)  # --rm takes anonymous volumes too
        except errors.NotFound:
            pass
        except Exception:
            log.exception("auto-remove of %s failed", c.id)

    # stop / kill -----------------------------------------------------------------------
    async def kill(self, c: Container, ref: str, signal: str | int | None = None) -> None:
        signum = parse_signal(signal)
        not_running = errors.Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        if signum in (signals.SIGKILL, parse_signal(c.config.get("StopSignal"), signals.SIGTERM)):
            c.manually_stopped = True
        if self.restarts.cancel(c) or not c.state.running:
            raise not_running
        await self._thaw_if_paused(c)
        # Docker's kill with SIGKILL answers once the container has stopped (inspect reads 137)
        exited = self.waits.register(c, "not-running") if signum == signals.SIGKILL else None
        try:
            await self.supervisor.kill(c.id, signum)
        except errors.NotFound:  # it exited between the check and the kill
            if exited is None:
                raise not_running from None
        self.records.event(c, "kill", signal=str(signum))
        if exited is not None:
            await exited

    async def _thaw_if_paused(self, c: Container) -> None:
        """A frozen process cannot act on a signal: stop/kill/rm of a paused container unpause it first."""
        if c.state.status == "paused":
            await asyncio.to_thread(open_cgroup(f"/{self.cgroup_parent}/{c.id}").thaw)
            c.state.status = "running"
            self.records.save(c)

    async def stop(self, c: Container, timeout: int | None = None) -> None:
        c.manually_stopped = True
        if self.restarts.cancel(c):
            self.records.save(c)
            self.records.event(c, "stop")
            return
        if not c.state.running:
            self.records.save(c)
            raise errors.NotModified("container already stopped")
        await self.stop_running(c, timeout)

    async def stop_running(self, c: Container, timeout: int | None) -> None:
        if timeout is None:
            timeout = c.config.get("StopTimeout")
            timeout = 10 if timeout is None else timeout
        stop_signal = parse_signal(c.config.get("StopSignal"), signals.SIGTERM)
        await self._thaw_if_paused(c)
        exited = self.waits.register(c, "not-running")
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
        self.records.event(c, "stop")

    async def restart(self, c: Container, timeout: int | None = None) -> None:
        if c.state.running:
            await self.stop_running(c, timeout)
        await self.start(c)
        self.records.event(c, "restart")

    # remove ----------------------------------------------------------------------------
    async def remove(self, c: Container, force: bool = False, volumes: bool = False) -> None:
        if c.state.status == "restarting":
            if not force:
                raise errors.Conflict(
                    f"You cannot remove a restarting container {c.id}. Stop the container before "
                    "attempting removal or force remove")
            self.restarts.cancel(c)
        while True:
            if c.state.running:
                if not force:
                    raise errors.Conflict(
                        f"You cannot remove a running container {c.id}. Stop the container before "
                        "attempting removal or force remove")
                await self._kill_and_wait(c)
            async with self.records.lock(c.id):
                if not self.records.exists(c):
                    return  # a concurrent remove (auto-remove racing a user's rm) got here first
                if c.state.running:
                    continue  # started while we waited for the lock: decide again
                c.state.status = "removing"
                self.health.disarm(c.id)
                try:
                    await self.supervisor.delete(c.id)
                except errors.NotFound:
                    pass
                await asyncio.to_thread(self.remove_files, c)
                self.records.store.remove(c)
                if volumes and self.volumes is not None:
                    await asyncio.to_thread(self.remove_anonymous_volumes, c)
                break
        self.records.forget_lock(c.id)
        self.records.event(c, "destroy")
        self.waits.removed(c)

    async def _kill_and_wait(self, c: Container) -> None:
        await self._thaw_if_paused(c)
        exited = self.waits.register(c, "not-running")
        try:
            await self.supervisor.kill(c.id, signals.SIGKILL)
        except (errors.NotFound, errors.Conflict):
            pass
        await exited

    def remove_files(self, c: Container) -> None:
        self.release_rootfs(c)
        try:
            self.images.remove_rootfs(c.id)
        except errors.NotFound:
            pass
        fstree.remove_tree(c.root_dir, ignore_errors=True)

    def remove_anonymous_volumes(self, c: Container) -> None:
        assert self.volumes is not None
        for name in mountslib.anonymous_volumes(c):
            try:
                self.volumes.remove(name)
            except errors.DockyardError:
                pass  # still used by another container (--volumes-from), or gone

    def shutdown(self) -> None:
        self.restarts.shutdown()
        for task in list(self._watchers.values()):
            task.cancel()
        self.health.disarm_all()
