"""cgroup v1: one directory per controller hierarchy (memory, pids, cpu, ...)."""
from __future__ import annotations

import logging
import os

from ..linux import bpf
from .base import Cgroup, CgroupError, read, read_counter, read_pids, rmdir_retry, write
from .resources import Resources, device_rule
from .v2 import DeviceFilter, apply_device_filter

log = logging.getLogger("dockyard.cgroups")

CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "freezer", "devices")


class V1Cgroup(Cgroup):
    def __init__(self, root: str, path: str, controllers: tuple[str, ...] = CONTROLLERS,
                 unified: str | None = None, device_filter: DeviceFilter = bpf.set_device_filter) -> None:
        """`unified`: the cgroup2 mount of a hybrid host (root/unified). With it, the group also
        gets a directory there holding the same device rules as an eBPF filter (defence in depth,
        as systemd does); the v1 devices controller stays the enforcement, so a filter the kernel
        refuses is logged, not fatal."""
        super().__init__(root, path)
        # Only the hierarchies this host mounts; a missing one is simply not managed.
        self.controllers = tuple(c for c in controllers if os.path.isdir(os.path.join(root, c)))
        self.unified = unified
        self.device_filter = device_filter

    def unified_dir(self) -> str | None:
        return os.path.join(self.unified, self.path.lstrip("/")) if self.unified else None

    def dir(self, controller: str) -> str:
        return os.path.join(self.root, controller, self.path.lstrip("/"))

    def exists(self) -> bool:
        return any(os.path.isdir(self.dir(c)) for c in self.controllers)

    def create(self, resources: Resources | None = None) -> None:
        for c in self.controllers:
            d = self.dir(c)
            if c == "cpuset":
                self._make_cpuset(d)
            else:
                os.makedirs(d, exist_ok=True)
        if (u := self.unified_dir()) is not None:
            os.makedirs(u, exist_ok=True)
        if resources:
            self.apply(resources)

    def _make_cpuset(self, d: str) -> None:
        """A new v1 cpuset starts empty and rejects tasks: copy cpus/mems down from the first ancestor that has them."""
        top = os.path.join(self.root, "cpuset")
        parts = [p for p in os.path.relpath(d, top).split("/") if p and p != "."]
        cur = top
        for p in parts:
            parent, cur = cur, os.path.join(cur, p)
            os.makedirs(cur, exist_ok=True)
            for f in ("cpuset.cpus", "cpuset.mems"):
                mine = os.path.join(cur, f)
                if os.path.exists(mine) and not read(mine).strip():
                    write(mine, read(os.path.join(parent, f)).strip() or "\n")

    def apply(self, r: Resources) -> None:
        mem = self.dir("memory")
        if "memory" in self.controllers:
            if r.memory is not None and r.memory > 0:
                write(os.path.join(mem, "memory.limit_in_bytes"), str(r.memory))
            memsw = os.path.join(mem, "memory.memsw.limit_in_bytes")
            if r.memory_swap is not None and r.memory_swap != 0 and os.path.exists(memsw):
                write(memsw, str(r.memory_swap))
            if r.memory_reservation:
                write(os.path.join(mem, "memory.soft_limit_in_bytes"), str(r.memory_reservation))
            if r.oom_kill_disable:
                write(os.path.join(mem, "memory.oom_control"), "1")
        if "blkio" in self.controllers and r.blkio_weight:
            weight = os.path.join(self.dir("blkio"), "blkio.weight")
            if os.path.exists(weight):  # only with the CFQ/BFQ scheduler
                write(weight, str(r.blkio_weight))
            elif os.path.exists(bfq := os.path.join(self.dir("blkio"), "blkio.bfq.weight")):
                write(bfq, str(r.blkio_weight))
        if "devices" in self.controllers and r.devices:
            devices = self.dir("devices")
            for rule in r.devices:
                name = "devices.allow" if rule.get("allow") else "devices.deny"
                write(os.path.join(devices, name), device_rule(rule))
        if r.devices and (u := self.unified_dir()) is not None and os.path.isdir(u):
            try:
                apply_device_filter(u, r.devices, self.device_filter)
            except CgroupError as e:
                if "devices" not in self.controllers:
                    raise  # then the filter is the only enforcement
                log.warning("cgroup v2 device filter not attached (v1 devices controller still applies): %s", e)
        if "pids" in self.controllers and r.pids is not None:
            write(os.path.join(self.dir("pids"), "pids.max"), "max" if r.pids <= 0 else str(r.pids))
        if "cpu" in self.controllers:
            cpu = self.dir("cpu")
            if r.cpu_shares:
                write(os.path.join(cpu, "cpu.shares"), str(r.cpu_shares))
            if r.cpu_period:
                write(os.path.join(cpu, "cpu.cfs_period_us"), str(r.cpu_period))
            if r.cpu_quota:
                write(os.path.join(cpu, "cpu.cfs_quota_us"), str(r.cpu_quota))
        if "cpuset" in self.controllers:
            if r.cpuset_cpus:
                write(os.path.join(self.dir("cpuset"), "cpuset.cpus"), r.cpuset_cpus)
            if r.cpuset_mems:
                write(os.path.join(self.dir("cpuset"), "cpuset.mems"), r.cpuset_mems)

    def add(self, pid: int) -> None:
        for c in self.controllers:
            write(os.path.join(self.dir(c), "cgroup.procs"), str(pid))
        if (u := self.unified_dir()) is not None and os.path.isdir(u):
            write(os.path.join(u, "cgroup.procs"), str(pid))

    def pids(self) -> list[int]:
        for c in ("pids", "memory", "freezer") + self.controllers:
            if c in self.controllers:
                return read_pids(os.path.join(self.dir(c), "cgroup.procs"))
        return []

    def oom_killed(self) -> bool:
        return read_counter(os.path.join(self.dir("memory"), "memory.oom_control"), "oom_kill") > 0

    def freeze(self) -> None:
        if "freezer" in self.controllers:
            write(os.path.join(self.dir("freezer"), "freezer.state"), "FROZEN")

    def thaw(self) -> None:
        if "freezer" in self.controllers:
            write(os.path.join(self.dir("freezer"), "freezer.state"), "THAWED")

    def delete(self, timeout: float = 5.0) -> None:
        for c in self.controllers:
            rmdir_retry(self.dir(c), timeout)
        if (u := self.unified_dir()) is not None:
            rmdir_retry(u, timeout)
