"""`docker stats`: one sample of a container's cgroup and network counters in Docker's JSON shape."""
from __future__ import annotations

import os
from typing import Any

from ..cgroups import open_cgroup
from ..cgroups.stats import Usage, read_usage
from ..timefmt import ZERO, rfc3339
from .model import Container


def system_cpu_ns() -> int:
    """Total host CPU time (all modes, all CPUs) in ns, from the `cpu` line of /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:8]
    return sum(int(x) for x in fields) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _networks(pid: int) -> dict[str, Any] | None:
    """Counters of the container's interfaces, from /proc/<pid>/net/dev (its own net namespace)."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return None
    nets: dict[str, Any] = {}
    for line in lines:
        name, _, rest = line.partition(":")
        name = name.strip()
        if name == "lo":
            continue
        v = [int(x) for x in rest.split()]
        nets[name] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_errors": v[2], "rx_dropped": v[3],
                      "tx_bytes": v[8], "tx_packets": v[9], "tx_errors": v[10], "tx_dropped": v[11]}
    return nets or None


def _cpu(u: Usage | None, system: int) -> dict[str, Any]:
    if u is None:
        return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    usage: dict[str, Any] = {"total_usage": u.cpu_total_ns, "usage_in_kernelmode": u.cpu_system_ns,
                             "usage_in_usermode": u.cpu_user_ns}
    if u.percpu_ns:
        usage["percpu_usage"] = u.percpu_ns
    return {"cpu_usage": usage, "system_cpu_usage": system, "online_cpus": os.cpu_count() or 1,
            "throttling_data": u.throttling}


def _blk(rows: list[tuple[int, int, str, int]]) -> list[dict[str, Any]]:
    return [{"major": a, "minor": b, "op": op.capitalize() if op.islower() else op, "value": v}
            for a, b, op, v in rows]


def sample(c: Container, cgroup_parent: str, pre: dict[str, Any] | None = None) -> dict[str, Any]:
    """One stats object; `pre` is the previous one (its cpu_stats become precpu_stats)."""
    running = c.state.running
    u = read_usage(open_cgroup(f"/{cgroup_parent}/{c.id}")) if running else None
    system = system_cpu_ns()
    mem: dict[str, Any] = {}
    if u is not None:
        limit = u.memory_limit or _host_memory()
        mem = {"usage": u.memory_usage, "max_usage": u.memory_max_usage, "stats": u.memory_stat, "limit": limit}
    out: dict[str, Any] = {
        "read": rfc3339() if running else ZERO, "preread": (pre or {}).get("read", ZERO),
        "name": "/" + c.name, "id": c.id, "num_procs": 0, "storage_stats": {},
        "pids_stats": {"current": u.pids_current, **({"limit": u.pids_limit} if u.pids_limit else {})}
        if u else {},
        "blkio_stats": {"io_service_bytes_recursive": _blk(u.io_bytes) if u else None,
                        "io_serviced_recursive": _blk(u.io_ops) if u else None,
                        "io_queue_recursive": None, "io_service_time_recursive": None,
                        "io_wait_time_recursive": None, "io_merged_recursive": None,
                        "io_time_recursive": None, "sectors_recursive": None},
        "cpu_stats": _cpu(u, system),
        "precpu_stats": (pre or {}).get("cpu_stats") or _cpu(None, 0),
        "memory_stats": mem,
    }
    nets = _networks(c.state.pid) if running else None
    if nets:
        out["networks"] = nets
    return out


def _host_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            return int(f.readline().split()[1]) * 1024
    except OSError:
        return 0
