"""Operations on a running container's cgroup: pause/unpause (freezer), update of its resources, stats."""
from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

from .. import errors
from ..cgroups import Resources, open_cgroup
from ..runtime.spec import _resources as oci_resources
from .model import Container
from .records import ContainerRecords
from .stats import sample

STATS_INTERVAL = 1.0

MIN_MEMORY = 6 * 1024 * 1024
UPDATABLE = ("Memory", "MemorySwap", "MemoryReservation", "CpuShares", "CpuPeriod", "CpuQuota", "NanoCpus",
             "CpusetCpus", "CpusetMems", "PidsLimit", "BlkioWeight", "KernelMemory", "CpuRealtimePeriod",
             "CpuRealtimeRuntime")


def cgroup_of(c: Container, cgroup_parent: str) -> Any:
    return open_cgroup(f"/{cgroup_parent}/{c.id}")


def pause(c: Container, cgroup_parent: str) -> None:
    if not c.state.running:
        raise errors.Conflict(f"Container {c.id} is not running")
    if c.state.status == "paused":
        raise errors.Conflict(f"Container {c.id} is already paused")
    cgroup_of(c, cgroup_parent).freeze()


def unpause(c: Container, cgroup_parent: str) -> None:
    if c.state.status != "paused":
        raise errors.Conflict(f"Container {c.id} is not paused")
    cgroup_of(c, cgroup_parent).thaw()


def validate_update(c: Container, body: Any) -> dict[str, Any]:
    """The HostConfig fields to change, checked as Docker checks them."""
    if not isinstance(body, dict):
        raise errors.InvalidParameter("invalid update body")
    new: dict[str, Any] = {}
    for key in UPDATABLE:
        if key in body and body[key] is not None:
            value = body[key]
            if key.startswith("Cpuset"):
                if not isinstance(value, str):
                    raise errors.InvalidParameter(f"invalid value for {key}: {value!r}")
            elif not isinstance(value, int) or isinstance(value, bool):
                raise errors.InvalidParameter(f"invalid value for {key}: {value!r}")
            new[key] = value
    mem = new.get("Memory", c.host_config.get("Memory") or 0)
    if "Memory" in new and 0 < new["Memory"] < MIN_MEMORY:
        raise errors.InvalidParameter("Minimum memory limit allowed is 6MB")
    if any(new.get(k, 0) < 0 for k in ("Memory", "CpuShares", "CpuPeriod", "NanoCpus", "BlkioWeight")):
        raise errors.InvalidParameter("invalid negative resource value")
    swap = new.get("MemorySwap")
    if swap is not None and swap > 0 and mem and swap < mem:
        raise errors.InvalidParameter("Minimum memoryswap limit should be larger than memory limit, "
                                      "see usage for details")
    if new.get("NanoCpus") and (new.get("CpuQuota") or new.get("CpuPeriod")):
        raise errors.InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if "BlkioWeight" in new and new["BlkioWeight"] and not 10 <= new["BlkioWeight"] <= 1000:
        raise errors.InvalidParameter("Range of blkio weight is from 10 to 1000")
    if "CpuPeriod" in new and new["CpuPeriod"] and not 1000 <= new["CpuPeriod"] <= 1000000:
        raise errors.InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than "
                                      "1s (i.e. 1000000)")
    return new


def apply_update(c: Container, new: dict[str, Any], cgroup_parent: str) -> None:
    """Write the new limits into the running container's cgroup (the record is saved by the caller)."""
    merged = {**c.host_config, **new}
    if new.get("NanoCpus"):
        merged.pop("CpuQuota", None)
    res = Resources.from_oci(oci_resources(merged))
    if "PidsLimit" in new and not new["PidsLimit"]:
        res.pids = -1
    cg = cgroup_of(c, cgroup_parent)
    if not cg.exists():
        return
    try:
        if hasattr(cg, "apply"):
            cg.apply(res)
    except OSError as e:
        raise errors.InvalidParameter(f"Cannot update container {c.id}: {e}") from None


class LiveOps:
    """The state changes on a running container's cgroup, under its lock, saved and told."""

    def __init__(self, records: ContainerRecords, cgroup_parent: str) -> None:
        self.records = records
        self.cgroup_parent = cgroup_parent

    async def pause(self, ref: str) -> None:
        c = self.records.get(ref)
        async with self.records.lock(c.id):
            await asyncio.to_thread(pause, c, self.cgroup_parent)
            c.state.status = "paused"
            self.records.save(c)
        self.records.event(c, "pause")

    async def unpause(self, ref: str) -> None:
        c = self.records.get(ref)
        async with self.records.lock(c.id):
            await asyncio.to_thread(unpause, c, self.cgroup_parent)
            if c.state.status == "paused":
                c.state.status = "running"
                self.records.save(c)
        self.records.event(c, "unpause")

    async def update(self, ref: str, body: Any) -> None:
        c = self.records.get(ref)
        new = validate_update(c, body)
        restart = body.get("RestartPolicy") if isinstance(body, dict) else None
        async with self.records.lock(c.id):
            if c.state.running:
                await asyncio.to_thread(apply_update, c, new, self.cgroup_parent)
            c.host_config.update(new)
            if isinstance(restart, dict) and restart.get("Name") is not None:
                c.host_config["RestartPolicy"] = {"Name": restart.get("Name") or "no",
                                                  "MaximumRetryCount": int(restart.get("MaximumRetryCount") or 0)}
            self.records.save(c)
        self.records.event(c, "update")

    def stats(self, ref: str, stream: bool, one_shot: bool) -> AsyncIterator[bytes]:
        """Docker's stats JSON lines: one, or one per interval while the container runs."""
        c = self.records.get(ref)
        parent = self.cgroup_parent

        async def body() -> AsyncIterator[bytes]:
            pre = None
            if not stream and not one_shot and c.state.running:
                # like Docker, a single sample carries a CPU delta over one interval
                pre = await asyncio.to_thread(sample, c, parent)
                await asyncio.sleep(STATS_INTERVAL)
            while True:
                cur = await asyncio.to_thread(sample, c, parent, pre)
                yield json.dumps(cur).encode() + b"\n"
                if not stream or not c.state.running:
                    return
                pre = cur
                await asyncio.sleep(STATS_INTERVAL)

        return body()
