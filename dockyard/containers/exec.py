"""exec: extra processes in running containers (create, start attached or detached, resize, inspect)."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errors
from ..linux.caps import bounding_set, to_names
from .model import Container
from .records import ContainerRecords
from .user import resolve as resolve_user

log = logging.getLogger("dockyard.containers")
_SUPERVISOR_RETRIES = 5  # waits on a next supervisor when the one running the exec died


@dataclass
class Exec:
    id: str
    container_id: str
    cmd: list[str]
    user: str = ""
    privileged: bool = False
    tty: bool = False
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    detach_keys: str = ""
    started: bool = False
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    pending_size: tuple[int, int] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_inspect(self) -> dict[str, Any]:
        return {
            "ID": self.id, "ContainerID": self.container_id, "Running": self.running,
            "ExitCode": self.exit_code, "Pid": self.pid, "CanRemove": False, "DetachKeys": self.detach_keys,
            "OpenStdin": self.attach_stdin, "OpenStdout": self.attach_stdout, "OpenStderr": self.attach_stderr,
            "ProcessConfig": {"tty": self.tty, "entrypoint": self.cmd[0], "arguments": self.cmd[1:],
                              "privileged": self.privileged, "user": self.user},
        }


def _str_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.InvalidParameter(f"json: cannot unmarshal {key}: expected an array of strings")
    return list(value)


def merge_env(base: list[str], extra: list[str]) -> list[str]:
    """The container's environment with the exec's on top (a later KEY= wins)."""
    merged: dict[str, str] = {}
    for e in base + extra:
        k, _, _ = e.partition("=")
        merged[k] = e
    return list(merged.values())


class ExecService:
    """Exec records live in memory, like Docker's; they go with their container."""

    def __init__(self, containers: ContainerRecords, supervisor: Any, exec_root: Path) -> None:
        self.containers = containers
        self.supervisor = supervisor
        self.exec_root = exec_root
        self.execs: dict[str, Exec] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _running(self, c: Container) -> None:
        if c.state.status == "paused":
            raise errors.Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if not c.state.running:
            raise errors.Conflict(f"Container {c.id} is not running")

    def create(self, ref: str, body: Any) -> Exec:
        c = self.containers.get(ref)
        if not isinstance(body, dict):
            raise errors.InvalidParameter("config cannot be empty in order to create an exec")
        cmd = _str_list(body, "Cmd")
        if not cmd:
            raise errors.InvalidParameter("No exec command specified")
        self._running(c)
        keys = body.get("DetachKeys") or ""
        if keys:
            from .detachkeys import parse
            parse(keys)
        e = Exec(id=secrets.token_hex(32), container_id=c.id, cmd=cmd, user=str(body.get("User") or ""),
                 privileged=bool(body.get("Privileged")), tty=bool(body.get("Tty")), env=_str_list(body, "Env"),
                 working_dir=str(body.get("WorkingDir") or ""), attach_stdin=bool(body.get("AttachStdin")),
                 attach_stdout=bool(body.get("AttachStdout")), attach_stderr=bool(body.get("AttachStderr")),
                 detach_keys=keys)
        if e.working_dir and not e.working_dir.startswith("/"):
            raise errors.InvalidParameter(f"the working directory '{e.working_dir}' is invalid, it needs to be "
                                          "an absolute path")
        self.execs[e.id] = e
        self.containers.event(c, f"exec_create: {' '.join(cmd)}", execID=e.id)
        return e

    def get(self, exec_id: str) -> Exec:
        e = self.execs.get(exec_id)
        if e is not None and e.container_id not in self.containers.store.ids():
            del self.execs[exec_id]  # its container was removed
            e = None
        if e is None:
            raise errors.NotFound(f"No such exec instance: {exec_id}")
        return e

    def ids_for(self, container_id: str) -> list[str]:
        return [e.id for e in self.execs.values() if e.container_id == container_id]

    def process(self, e: Exec, c: Container) -> dict[str, Any]:
        """The OCI `process` of the exec: the container's own, with the exec's command and options."""
        try:
            with open(self.exec_root / "bundles" / c.id / "config.json") as f:
                base = dict(json.load(f).get("process") or {})
        except (OSError, ValueError):
            raise errors.Conflict(f"Container {c.id} is not running") from None
        proc = dict(base)
        env = merge_env(list(base.get("env") or []), e.env)
        if e.tty and not any(v.startswith("TERM=") for v in env):
            env.append("TERM=xterm")
        proc.update(args=e.cmd, env=env, terminal=e.tty, cwd=e.working_dir or base.get("cwd") or "/")
        if e.user:
            u = resolve_user(c.rootfs, e.user)
            proc["user"] = {"uid": u.uid, "gid": u.gid,
                            **({"additionalGids": u.additional_gids} if u.additional_gids else {})}
        if e.privileged:
            caps = to_names(bounding_set())
            proc["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
        proc.pop("oomScoreAdj", None)
        return proc

    def check_startable(self, exec_id: str) -> tuple[Exec, Container]:
        e = self.get(exec_id)
        if e.running:
            raise errors.Conflict(f"Error: Exec command {e.id} is already running")
        if e.started:
            raise errors.Conflict(f"Error: Exec command {e.id} has already run")
        c = self.containers.get(e.container_id)
        self._running(c)
        return e, c

    def _claim(self, exec_id: str) -> tuple[Exec, Container]:
        e, c = self.check_startable(exec_id)
        e.started = True
        return e, c

    async def start_detached(self, exec_id: str) -> None:
        e, c = self._claim(exec_id)
        try:
            e.pid = await self.supervisor.exec_detached(c.id, e.id, self.process(e, c), e.tty)
        except BaseException:
            e.started = False
            raise
        self._started(e, c)

    async def start_attached(self, exec_id: str) -> tuple[Exec, Any]:
        """Start and return the supervisor stream of the exec's stdio (stdin only if AttachStdin)."""
        e, c = self._claim(exec_id)
        try:
            stream = await self.supervisor.exec_attached(c.id, e.id, self.process(e, c), e.tty, e.attach_stdin,
                                                         e.attach_stdout, e.attach_stderr)
        except errors.ExecNotFound as err:
            e.exit_code = getattr(err, "exit_code", 126)
            e.done.set()
            raise
        except BaseException:
            e.started = False
            raise
        e.pid = stream.pid
        self._started(e, c)
        if e.pending_size is not None and e.tty:
            await self.supervisor.exec_resize(e.id, *e.pending_size)
        return e, stream

    def _started(self, e: Exec, c: Container) -> None:
        e.running = True
        self.containers.event(c, f"exec_start: {' '.join(e.cmd)}", execID=e.id)
        task = asyncio.get_running_loop().create_task(self._watch(e, c))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _exec_wait(self, e: Exec) -> dict[str, Any]:
        """The exec's end; across a supervisor crash too (the next one adopts it)."""
        for attempt in range(1, _SUPERVISOR_RETRIES + 1):
            try:
                return dict(await self.supervisor.exec_wait(e.id))
            except errors.Unavailable:
                await asyncio.sleep(0.05 * attempt)
        return dict(await self.supervisor.exec_wait(e.id))

    async def _watch(self, e: Exec, c: Container) -> None:
        try:
            record = await self._exec_wait(e)
            e.exit_code = int(record.get("exit_code", 0))
            await self.supervisor.exec_forget(e.id)
        except errors.DockyardError as err:  # the container went away with it
            log.debug("exec %s: %s", e.id, err.message)
            e.exit_code = e.exit_code if e.exit_code is not None else 137
        finally:
            e.running = False
            e.done.set()
        self.containers.event(c, "exec_die", execID=e.id, exitCode=str(e.exit_code))

    async def resize(self, exec_id: str, height: int, width: int) -> None:
        e = self.get(exec_id)
        if not e.tty:
            raise errors.InvalidParameter(f"Exec {e.id} has no TTY")
        if not e.running:
            if e.exit_code is not None:
                raise errors.Conflict(f"Exec {e.id} is not running")
            # A client resizes as soon as its hijack is answered, which may be before the process runs.
            e.pending_size = (height, width)
            return
        await self.supervisor.exec_resize(e.id, height, width)
