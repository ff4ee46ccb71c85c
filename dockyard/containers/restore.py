"""Restore after a daemon restart: reconcile the container records with what the supervisor saw."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from .. import errors
from ..timefmt import ZERO, rfc3339
from . import mounts as mountslib
from . import restart as restartlib
from .lifecycle import Lifecycle
from .model import Container

log = logging.getLogger("dockyard.containers")


async def restore(lc: Lifecycle) -> None:
    """Adopt what still runs, record what exited meanwhile, clean up what was cut short."""
    records = lc.records
    seen = {r["id"]: r for r in await lc.supervisor.list()}
    adopted = set()
    for c in records.all():
        try:
            if await _restore_one(lc, c, seen.get(c.id)):
                adopted.add(c.id)
        except Exception:  # one bad record must not keep the daemon from starting
            log.exception("could not restore container %s", c.id)
    await lc.network.restore({c.id: c for c in records.all() if c.state.running})
    for c in records.all():
        if c.state.status == "restarting" and not lc.restarts.pending(c.id):  # died in a back-off
            c.state.status = "exited"
            records.save(c)
        if c.state.status == "exited" and c.state.started_at != ZERO and \
                restartlib.start_on_daemon_start(c.host_config, c.manually_stopped):
            lc.spawn(_start_on_boot(lc, c))
    for cid in set(seen) - adopted:
        try:
            await lc.supervisor.delete(cid)
        except errors.DockyardError:
            pass


async def _restore_one(lc: Lifecycle, c: Container, record: dict[str, Any] | None) -> bool:
    """True when the supervisor's record of `c` stays in use."""
    if c.state.status == "removing":
        await lc.remove(c, force=True)
        return False
    if not c.state.running:
        # A "created" container with a supervisor record was being started when the daemon
        # died: the start was never acknowledged, so that process goes (the caller deletes
        # it), and what the start had set up goes too (rootfs mount, bundle, shm, volumes).
        await asyncio.to_thread(lc.release_rootfs, c)
        if c.host_config.get("AutoRemove"):  # as Docker: --rm containers that are down go
            await lc.auto_remove(c)
        return False
    for name in mountslib.volume_names(c):  # mounted when it ran: each gets its one unmount
        if lc.volumes is not None:
            lc.volumes.adopt(name, c.id)
    if record and record.get("status") == "running":
        lc.watch(c)
        lc.health.arm(c, restored=True)
        return True
    if record and record.get("status") == "exited":
        await lc.on_exit(c, record)
    else:
        # The supervisor that held it is gone (killed, or a new one after a crash): end what
        # is left in its cgroup, as when the supervisor dies under a running daemon.
        await asyncio.to_thread(lc.kill_orphan, c)
        await lc.on_exit(c, {"exit_code": 255, "finished_at": rfc3339()})
    return True


async def _start_on_boot(lc: Lifecycle, c: Container) -> None:
    try:
        async with lc.records.lock(c.id):
            if not c.state.running and lc.records.exists(c):
                await lc.start_locked(c)
    except Exception as e:  # noqa: BLE001 - recorded in State.Error by the failed start
        log.warning("could not start %s on daemon start: %s", c.id, e)
