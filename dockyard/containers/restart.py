"""The restart manager: restart policies (no, always, unless-stopped, on-failure[:N]) and Docker's
back-off between restarts."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from ..timefmt import parse_rfc3339
from .model import Container
from .records import ContainerRecords

log = logging.getLogger("dockyard.containers")

FIRST_DELAY = 0.1       # seconds; doubles after each restart that ran less than RESET_AFTER
MAX_DELAY = 60.0
RESET_AFTER = 10.0      # a container that stayed up this long starts over from FIRST_DELAY


def policy(host_config: dict[str, Any]) -> tuple[str, int]:
    p = host_config.get("RestartPolicy") or {}
    return (p.get("Name") or "no"), int(p.get("MaximumRetryCount") or 0)


def should_restart(host_config: dict[str, Any], exit_code: int, restart_count: int,
                   manually_stopped: bool) -> bool:
    """After an exit the daemon did not ask for: does the policy bring the container back?"""
    name, retries = policy(host_config)
    if manually_stopped or host_config.get("AutoRemove"):
        return False
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure":
        return exit_code != 0 and (retries <= 0 or restart_count < retries)
    return False


def start_on_daemon_start(host_config: dict[str, Any], manually_stopped: bool) -> bool:
    """`always` comes back when the daemon starts even after a `docker stop`; `unless-stopped`
    only if nobody stopped it."""
    name, _ = policy(host_config)
    return name == "always" or (name == "unless-stopped" and not manually_stopped)


@dataclass
class Backoff:
    delay: float = 0.0

    def next(self, ran_for: float) -> float:
        """The wait before the next start, given how long the last run lasted."""
        if ran_for >= RESET_AFTER or self.delay == 0.0:
            self.delay = FIRST_DELAY
        else:
            self.delay = min(self.delay * 2, MAX_DELAY)
        return self.delay


class RestartManager:
    """Brings back containers whose policy says so, after the back-off; a stop cancels that."""

    def __init__(self, records: ContainerRecords, start_locked: Callable[[Container], Awaitable[None]]) -> None:
        self.records = records
        self._start_locked = start_locked  # starts a container whose lock the caller holds
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._backoffs: dict[str, Backoff] = {}
        self._shutting_down = False

    def after_exit(self, c: Container) -> None:
        """An exit the daemon did not ask for: schedule a restart if the policy wants one."""
        if self._shutting_down or not self.records.exists(c) or not should_restart(
                c.host_config, c.state.exit_code, c.restart_count, c.manually_stopped):
            return
        try:
            ran_for = parse_rfc3339(c.state.finished_at) - parse_rfc3339(c.state.started_at)
        except ValueError:
            ran_for = 0.0
        delay = self._backoffs.setdefault(c.id, Backoff()).next(ran_for)
        c.state.status = "restarting"
        self.records.save(c)
        task = asyncio.get_running_loop().create_task(self._restart_after(c, delay))
        self._tasks[c.id] = task
        task.add_done_callback(lambda t: self._tasks.get(c.id) is t and self._tasks.pop(c.id))

    async def _restart_after(self, c: Container, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self.records.lock(c.id):
            if c.state.status != "restarting" or not self.records.exists(c):
                return
            c.restart_count += 1
            try:
                await self._start_locked(c)
            except Exception as e:  # noqa: BLE001 - recorded in State.Error by the failed start
                log.warning("restart of %s failed: %s", c.id, e)

    def cancel(self, c: Container) -> bool:
        """A stop, kill or remove of a container waiting to restart: it stays down."""
        task = self._tasks.pop(c.id, None)
        if task is not None:
            task.cancel()
        if c.state.status == "restarting":
            c.state.status = "exited"
            if self.records.exists(c):
                self.records.save(c)
            return True
        return False

    def reset(self, c: Container) -> None:
        """A start by the user: the count and the back-off start over."""
        if c.manually_stopped or c.restart_count:
            c.manually_stopped = False
            c.restart_count = 0
            self._backoffs.pop(c.id, None)

    def pending(self, cid: str) -> bool:
        return cid in self._tasks

    def shutdown(self) -> None:
        self._shutting_down = True
        for task in list(self._tasks.values()):
            task.cancel()
