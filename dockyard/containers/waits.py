"""Who waits on a container: exit and removal waiters, and attaches bound at the next start."""
from __future__ import annotations

import asyncio
from typing import Any, Protocol

from .. import errors
from .model import Container
from .records import ContainerRecords

Want = tuple[bool, bool, bool]  # stdin, stdout, stderr


class AttachSource(Protocol):
    """The supervisor's attach: the container's stdio streams."""
    async def attach(self, id: str, stdin: bool, stdout: bool, stderr: bool) -> Any: ...


def wait_result(c: Container) -> dict[str, Any]:
    """The body of `POST /containers/{id}/wait`."""
    return {"StatusCode": c.state.exit_code,
            "Error": {"Message": c.state.error} if c.state.error else None}


def _forget(fut: "asyncio.Future[Any]", waiters: list) -> None:
    if fut.cancelled() and fut in waiters:
        waiters.remove(fut)


class Waits:
    def __init__(self, records: ContainerRecords, supervisor: AttachSource) -> None:
        self.records = records
        self.supervisor = supervisor
        self._exit: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._removed: dict[str, list[asyncio.Future[dict[str, Any]]]] = {}
        self._attaches: dict[str, list[tuple[asyncio.Future[Any], Want]]] = {}

    def register(self, c: Container, condition: str) -> "asyncio.Future[dict[str, Any]]":
        """Subscribe at once to `condition` ("not-running", "next-exit", "removed") for `c`.

        Subscribing is synchronous so that a wait sent before a start never misses the exit.
        """
        if condition not in ("not-running", "next-exit", "removed"):
            raise errors.InvalidParameter(f"invalid condition: {condition}")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if condition == "removed":
            if not self.records.exists(c):
                fut.set_result(wait_result(c))
                return fut
            waiters = self._removed.setdefault(c.id, [])
        elif condition == "not-running" and not c.state.running:
            fut.set_result(wait_result(c))
            return fut
        else:
            waiters = self._exit.setdefault(c.id, [])
        waiters.append(fut)
        # a client that goes away cancels its wait: forget it rather than keep it till the exit
        fut.add_done_callback(lambda f: _forget(f, waiters))
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
        self._attaches.setdefault(c.id, []).append((fut, want))
        return fut

    async def bind_pending(self, c: Container, error: BaseException | None) -> None:
        """At start (between the runtime's create and start), or with `error` when it failed."""
        for fut, (stdin, stdout, stderr) in self._attaches.pop(c.id, []):
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

    def exited(self, c: Container) -> None:
        result = wait_result(c)
        for fut in self._exit.pop(c.id, []):
            if not fut.done():
                fut.set_result(result)

    def removed(self, c: Container) -> None:
        """A removed container ends every wait and every attach still pending on it."""
        result = wait_result(c)
        for waiters in (self._removed, self._exit):
            for fut in waiters.pop(c.id, []):
                if not fut.done():
                    fut.set_result(result)
        for pending, _ in self._attaches.pop(c.id, []):
            if not pending.done():
                pending.set_result(None)
