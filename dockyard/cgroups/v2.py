"""cgroup v2: one unified hierarchy; controllers are enabled down the tree through cgroup.subtree_control."""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable

from ..linux import bpf
from .base import Cgroup, CgroupError, read, read_counter, read_pids, rmdir_retry, write
from .resources import Resources, shares_to_weight

WANTED = ("cpu", "cpuset", "memory", "pids", "io")

# (cgroup dir, OCI device rules) -> None: loads and attaches the eBPF device filter
DeviceFilter = Callable[[str, Iterable[dict[str, Any]]], None]


def apply_device_filter(cgroup_dir: str, rules: list[dict[str, Any]], attach: DeviceFilter) -> None:
    """v2 has no devices.allow: OCI device rules become a BPF_CGROUP_DEVICE program on the cgroup."""
    try:
        attach(cgroup_dir, rules)
    except ValueError as e:
        raise CgroupError(22, f"device rules for {cgroup_dir}: {e}", cgroup_dir) from None  # EINVAL
    except OSError as e:
        raise CgroupError(e.errno, f"device filter for {cgroup_dir}: {e.strerror}", cgroup_dir) from None


class V2Cgroup(Cgroup):
    """`root` is the cgroup2 mount: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
    v1/v2 hybrid (no controllers there, but device filters attached there still apply).
    `device_filter` is injected so unit tests on a tmp dir need no kernel."""

    def __init__(self, root: str, path: str, device_filter: DeviceFilter = bpf.set_device_filter) -> None:
        super().__init__(root, path)
        self.device_filter = device_filter

    def dir(self) -> str:
        return os.path.join(self.root, self.path.lstrip("/"))

    def exists(self) -> bool:
        return os.path.isdir(self.dir())

    def create(self, resources: Resources | None = None) -> None:
        # Enable the controllers at every level from the root down to our parent, then make our dir.
        cur = self.root
        for part in [p for p in self.path.split("/") if p]:
            self._enable(cur)
            cur = os.path.join(cur, part)
            os.makedirs(cur, exist_ok=True)
        if resources:
            self.apply(resources)

    def _enable(self, d: str) -> None:
        try:
            available = read(os.path.join(d, "cgroup.controllers")).split()
        except FileNotFoundError:
            return
        wanted = [c for c in WANTED if c in available]
        if wanted:
            try:
                write(os.path.join(d, "cgroup.subtree_control"), " ".join("+" + c for c in wanted))
            except CgroupError:
                pass  # a level with tasks in it (no-internal-processes rule) keeps what it has

    def apply(self, r: Resources) -> None:
        d = self.dir()
        if r.devices:
            apply_device_filter(d, r.devices, self.device_filter)
        if r.memory is not None and r.memory > 0:
            write(os.path.join(d, "memory.max"), str(r.memory))
        if r.memory_swap is not None and r.memory_swap != 0 and os.path.exists(os.path.join(d, "memory.swap.max")):
            # v2 limits swap alone; OCI's value is memory+swap.
            swap = "max" if r.memory_swap < 0 else str(max(0, r.memory_swap - (r.memory or 0)))
            write(os.path.join(d, "memory.swap.max"), swap)
        if r.memory_reservation:
            write(os.path.join(d, "memory.low"), str(r.memory_reservation))
        if r.blkio_weight and os.path.exists(os.path.join(d, "io.weight")):
            # blkio weight 10..1000 -> io.weight 1..10000, as runc converts it
            write(os.path.join(d, "io.weight"), str(1 + (r.blkio_weight - 10) * 9999 // 990))
        if r.pids is not None:
            write(os.path.join(d, "pids.max"), "max" if r.pids <= 0 else str(r.pids))
        if r.cpu_shares:
            write(os.path.join(d, "cpu.weight"), str(shares_to_weight(r.cpu_shares)))
        if r.cpu_quota or r.cpu_period:
            quota = "max" if not r.cpu_quota or r.cpu_quota < 0 else str(r.cpu_quota)
            write(os.path.join(d, "cpu.max"), f"{quota} {r.cpu_period or 100000}")
        if r.cpuset_cpus:
            write(os.path.join(d, "cpuset.cpus"), r.cpuset_cpus)
        if r.cpuset_mems:
            write(os.path.join(d, "cpuset.mems"), r.cpuset_mems)

    def add(self, pid: int) -> None:
        write(os.path.join(self.dir(), "cgroup.procs"), str(pid))

    def pids(self) -> list[int]:
        return read_pids(os.path.join(self.dir(), "cgroup.procs"))

    def oom_killed(self) -> bool:
        return read_counter(os.path.join(self.dir(), "memory.events"), "oom_kill") > 0

    def freeze(self) -> None:
        if os.path.exists(os.path.join(self.dir(), "cgroup.freeze")):
            write(os.path.join(self.dir(), "cgroup.freeze"), "1")

    def thaw(self) -> None:
        if os.path.exists(os.path.join(self.dir(), "cgroup.freeze")):
            write(os.path.join(self.dir(), "cgroup.freeze"), "0")

    def kill_all(self, sig: int = 9) -> None:
        # cgroup.kill (5.14+) kills atomically, forks included.
        kill = os.path.join(self.dir(), "cgroup.kill")
        if sig == 9 and os.path.exists(kill):
            write(kill, "1")
        else:
            super().kill_all(sig)

    def delete(self, timeout: float = 5.0) -> None:
        rmdir_retry(self.dir(), timeout)
