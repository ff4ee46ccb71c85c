"""Health checks: the HEALTHCHECK config (merge, validation), one probe monitor per running container, State.Health."""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal as signals
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..timefmt import parse_rfc3339, rfc3339
from .exec import Exec
from .model import Container
from .records import ContainerRecords

log = logging.getLogger("dockyard.containers")

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_RETRIES = 3
MIN_DURATION = 1_000_000  # 1ms, as Docker
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
FILTER_VALUES = (STARTING, HEALTHY, UNHEALTHY, NONE)


# config ----------------------------------------------------------------------------------
def merge_config(user: dict[str, Any] | None, image: dict[str, Any] | None) -> dict[str, Any] | None:
    """Config.Healthcheck of a new container: the request's, its empty fields filled from the image's."""
    if not user:
        return dict(image) if image else None
    merged = dict(user)
    if image:
        if not merged.get("Test"):
            merged["Test"] = image.get("Test")
        for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
            if not merged.get(key) and image.get(key):
                merged[key] = image[key]
    return merged


def validate(health: dict[str, Any] | None) -> None:
    """Docker's create-time checks of Config.Healthcheck (400 with its messages)."""
    if not health:
        return
    for key in ("Interval", "Timeout", "StartPeriod"):
        value = health.get(key) or 0
        if not isinstance(value, int) or (value != 0 and value < MIN_DURATION):
            raise errors.InvalidParameter(f"{key} in Healthcheck cannot be less than 1ms")
    retries = health.get("Retries") or 0
    if not isinstance(retries, int) or retries < 0:
        raise errors.InvalidParameter("Retries in Healthcheck cannot be negative")
    test = health.get("Test")
    if test is not None and (not isinstance(test, list) or not all(isinstance(t, str) for t in test)):
        raise errors.InvalidParameter("json: cannot unmarshal Healthcheck.Test: expected an array of strings")


@dataclass(frozen=True)
class Probe:
    cmd: list[str]
    interval: float      # seconds
    timeout: float
    start_period: float
    retries: int
    timeout_text: str    # the timeout as Go prints a time.Duration ("30s", "500ms")


def probe_for(config: dict[str, Any]) -> Probe | None:
    """The probe of a container, or None when it has no health check (none set, or Test ["NONE"])."""
    health = config.get("Healthcheck") or {}
    test = list(health.get("Test") or [])
    if not test:
        return None
    if test[0] == "CMD":
        cmd = test[1:]
    elif test[0] == "CMD-SHELL":
        cmd = list(config.get("Shell") or ["/bin/sh", "-c"]) + [" ".join(test[1:])]
    else:  # "NONE", or a kind Docker does not know either
        return None
    if not cmd:
        return None
    timeout_ns = int(health.get("Timeout") or DEFAULT_TIMEOUT)
    retries = int(health.get("Retries") or DEFAULT_RETRIES)
    return Probe(cmd=cmd, interval=int(health.get("Interval") or DEFAULT_INTERVAL) / SECOND,
                 timeout=timeout_ns / SECOND, start_period=int(health.get("StartPeriod") or 0) / SECOND,
                 retries=retries, timeout_text=go_duration(timeout_ns))


def go_duration(ns: int) -> str:
    """A duration as Go's time.Duration.String() writes it, for the common cases."""
    if ns == 0:
        return "0s"
    if ns < 1_000:
        return f"{ns}ns"
    if ns < 1_000_000:
        return f"{_trim(ns / 1_000)}µs"
    if ns < SECOND:
        return f"{_trim(ns / 1_000_000)}ms"
    hours, rest = divmod(ns, 3600 * SECOND)
    minutes, rest = divmod(rest, 60 * SECOND)
    text = f"{_trim(rest / SECOND)}s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return text


def _trim(value: float) -> str:
    return f"{value:.9f}".rstrip("0").rstrip(".")


# state -----------------------------------------------------------------------------------
def status_of(c: Container) -> str:
    """The value the `health` filter matches: starting, healthy, unhealthy or none."""
    health = c.state.health
    return str(health.get("Status") or NONE) if health else NONE


def describe(health: dict[str, Any] | None) -> str:
    """The suffix of `Up …` in `docker ps`: "health: starting", "healthy", "unhealthy"."""
    if not health:
        return ""
    status = health.get("Status") or STARTING
    return "health: starting" if status == STARTING else str(status)


def record_result(c: Container, probe: Probe, result: dict[str, Any]) -> str | None:
    """Fold one probe result into c.state.health; the new status if it changed, else None."""
    health = c.state.health if c.state.health is not None else fresh()
    old = health.get("Status")
    log_ = list(health.get("Log") or [])[-(MAX_LOG_ENTRIES - 1):]
    health["Log"] = log_ + [result]
    if result["ExitCode"] == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    else:
        counts = True
        if old == STARTING:
            # failures inside the start period do not count while the container never was healthy
            try:
                since_start = parse_rfc3339(result["Start"]) - parse_rfc3339(c.state.started_at)
            except ValueError:
                since_start = probe.start_period
            counts = since_start >= probe.start_period
        if counts:
            health["FailingStreak"] = int(health.get("FailingStreak") or 0) + 1
            if health["FailingStreak"] >= probe.retries:
                health["Status"] = UNHEALTHY
    c.state.health = health
    return health["Status"] if health["Status"] != old else None


def fresh(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Health at a (re)start: starting, no failures, the log of earlier runs kept (as Docker)."""
    return {"Status": STARTING, "FailingStreak": 0, "Log": list((previous or {}).get("Log") or [])}


# monitor ---------------------------------------------------------------------------------
class HealthMonitor:
    """One asyncio task per running container with a health check; it probes through the exec path.

    `containers` are the container records (store, events); `execs` the ExecService, whose `process`
    builds the probe's OCI process. Probes are not registered as execs, so they stay out of ExecIDs.
    """

    def __init__(self, containers: ContainerRecords, execs: Any) -> None:
        self.containers = containers
        self.execs = execs
        self.supervisor = execs.supervisor
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def arm(self, c: Container, restored: bool = False) -> None:
        """Start monitoring a container that just started (or, `restored`, that ran across a daemon restart)."""
        self.disarm(c.id)
        probe = probe_for(c.config)
        if probe is None:
            c.state.health = None
            return
        if not restored or c.state.health is None:
            c.state.health = fresh(c.state.health)
        self._tasks[c.id] = asyncio.get_running_loop().create_task(self._monitor(c, probe))

    def disarm(self, cid: str) -> None:
        task = self._tasks.pop(cid, None)
        if task is not None:
            task.cancel()

    def disarm_all(self) -> None:
        for cid in list(self._tasks):
            self.disarm(cid)

    async def _monitor(self, c: Container, probe: Probe) -> None:
        while True:
            await asyncio.sleep(probe.interval)
            if c.state.status == "paused":
                continue  # a frozen container cannot run a probe; Docker's would just fail
            if c.state.status != "running" or c.id not in self.containers.store.ids():
                return
            try:
                result = await self.run_probe(c, probe)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - recorded as a failed probe, like Docker's
                log.warning("Health check for container %s error: %s", c.id, e)
                result = {"Start": rfc3339(), "End": rfc3339(), "ExitCode": -1,
                          "Output": getattr(e, "message", str(e))}
            if c.state.status not in ("running", "paused") or c.id not in self.containers.store.ids():
                return  # it exited while the probe ran: the result is moot
            changed = record_result(c, probe, result)
            self.containers.store.save(c)
            if changed is not None:
                self.containers.event(c, f"health_status: {changed}")

    async def run_probe(self, c: Container, probe: Probe) -> dict[str, Any]:
        """Run the probe once as an exec in `c`: {"Start", "End", "ExitCode", "Output"}."""
        e = Exec(id=secrets.token_hex(32), container_id=c.id, cmd=probe.cmd, attach_stdout=True,
                 attach_stderr=True)
        start = rfc3339()
        process = self.execs.process(e, c)
        label = " ".join(probe.cmd)
        self.containers.event(c, f"exec_create: {label}", execID=e.id)
        try:
            stream = await self.supervisor.exec_attached(c.id, e.id, process, False, False, True, True)
        except errors.ExecNotFound as err:
            return {"Start": start, "End": rfc3339(), "ExitCode": -1, "Output": err.message}
        self.containers.event(c, f"exec_start: {label}", execID=e.id)
        output = bytearray()
        timed_out = False
        try:
            code = await asyncio.wait_for(self._collect(stream, e.id, output), probe.timeout)
        except asyncio.TimeoutError:
            timed_out = True
            code = -1
            await self._kill(stream.pid, e.id)
        finally:
            await stream.close()
        self.containers.event(c, "exec_die", execID=e.id, exitCode=str(code))
        text = (f"Health check exceeded timeout ({probe.timeout_text})" if timed_out
                else output[:MAX_OUTPUT].decode("utf-8", "replace"))
        return {"Start": start, "End": rfc3339(), "ExitCode": code, "Output": text}

    async def _collect(self, stream: Any, exec_id: str, output: bytearray) -> int:
        while (frame := await stream.read()) is not None:
            if len(output) < MAX_OUTPUT:
                output += frame[1][:MAX_OUTPUT - len(output)]
        record = await self.supervisor.exec_wait(exec_id)
        await self._forget(exec_id)
        return int(record.get("exit_code", -1))

    async def _kill(self, pid: int, exec_id: str) -> None:
        """End a probe that ran past its timeout, and let the supervisor forget it."""
        if pid > 0:
            try:
                os.kill(pid, signals.SIGKILL)  # the supervisor shares our pid namespace
            except ProcessLookupError:
                pass
        try:
            await asyncio.wait_for(self.supervisor.exec_wait(exec_id), 5)
        except (asyncio.TimeoutError, errors.DockyardError):
            pass
        await self._forget(exec_id)

    async def _forget(self, exec_id: str) -> None:
        try:
            await self.supervisor.exec_forget(exec_id)
        except errors.DockyardError:
            pass
