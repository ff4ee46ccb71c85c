"""RUN: the command runs in a real container (ContainerService: the runtime, supervisor, security
defaults and networking of `docker run`), its output streams to the client, its rw layer is
committed by images/commit.py.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from .. import errors


class Containers(Protocol):
    """What a RUN step needs from containers/service.py (its public methods only)."""
    async def create(self, name: str | None, body: Any) -> Any: ...
    def attach(self, c: Any, stdin: bool, stdout: bool, stderr: bool) -> "asyncio.Future[Any]": ...
    def register_exit_waiter(self, c: Any, condition: str) -> "asyncio.Future[dict]": ...
    async def start(self, ref: str) -> None: ...
    async def kill(self, ref: str, signal: str | int | None = None) -> None: ...
    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None: ...


@dataclass
class HostOptions:
    network_mode: str = ""
    extra_hosts: list[str] | None = None
    shm_size: int = 0


def container_body(image_id: str, config: dict[str, Any], argv: list[str], env: list[str],
                   host: HostOptions) -> dict[str, Any]:
    host_config: dict[str, Any] = {"NetworkMode": host.network_mode or "default",
                                   "ExtraHosts": host.extra_hosts or None}
    if host.shm_size:
        host_config["ShmSize"] = host.shm_size
    return {"Image": image_id, "Cmd": argv, "Entrypoint": [""], "Env": env,
            "User": config.get("User") or "", "WorkingDir": config.get("WorkingDir") or "",
            "Labels": config.get("Labels") or {}, "AttachStdout": True, "AttachStderr": True,
            "HostConfig": host_config}


async def run_container(containers: Containers, body: dict[str, Any],
                        on_created: Callable[[str], None], output: Callable[[bytes], None]) -> tuple[str, int]:
    """Create, attach, start and wait; returns (container ID, exit code). The caller removes it.

    A cancelled build (client gone) kills the container before the cancellation goes on.
    """
    c = await containers.create(None, body)
    on_created(c.id)
    exited = containers.register_exit_waiter(c, "next-exit")
    attached = containers.attach(c, False, True, True)
    try:
        await containers.start(c.id)
        stream = await attached
        if stream is not None:
            try:
                while (item := await stream.read()) is not None:
                    output(item[1])
            finally:
                await stream.close()
        result = await exited
    except asyncio.CancelledError:
        try:
            await asyncio.shield(containers.kill(c.id, "KILL"))
        except errors.DockyardError:
            pass
        raise
    return c.id, int(result.get("StatusCode", 255))
