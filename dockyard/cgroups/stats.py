"""Usage counters of one cgroup (CPU, memory, pids, block I/O), read the same way from v1 and v2."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .base import Cgroup
from .v1 import V1Cgroup
from .v2 import V2Cgroup


@dataclass
class Usage:
    cpu_total_ns: int = 0
    cpu_user_ns: int = 0
    cpu_system_ns: int = 0
    percpu_ns: list[int] = field(default_factory=list)
    throttling: dict[str, int] = field(default_factory=dict)   # periods, throttled_periods, throttled_time (ns)
    memory_usage: int = 0
    memory_max_usage: int = 0
    memory_limit: int = 0                                       # 0: none
    memory_stat: dict[str, int] = field(default_factory=dict)
    pids_current: int = 0
    pids_limit: int = 0                                         # 0: none
    io_bytes: list[tuple[int, int, str, int]] = field(default_factory=list)   # major, minor, op, value
    io_ops: list[tuple[int, int, str, int]] = field(default_factory=list)


def _text(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, OSError):
        return ""


def _int(path: str) -> int:
    t = _text(path).strip()
    return int(t) if t.lstrip("-").isdigit() else 0


def _kv(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in _text(path).splitlines():
        k, _, v = line.partition(" ")
        if v.strip().lstrip("-").isdigit():
            out[k] = int(v)
    return out


_NO_LIMIT = 1 << 62  # v1 reports "unlimited" as a huge page-rounded number


def read_usage(cg: Cgroup) -> Usage:
    if isinstance(cg, V2Cgroup):
        return _v2(cg.dir())
    assert isinstance(cg, V1Cgroup)
    return _v1(cg)


def _v1(cg: V1Cgroup) -> Usage:
    u = Usage()
    acct = cg.dir("cpuacct")
    u.cpu_total_ns = _int(os.path.join(acct, "cpuacct.usage"))
    u.percpu_ns = [int(x) for x in _text(os.path.join(acct, "cpuacct.usage_percpu")).split()]
    ticks = _kv(os.path.join(acct, "cpuacct.stat"))
    hz = os.sysconf("SC_CLK_TCK")
    u.cpu_user_ns = ticks.get("user", 0) * 1_000_000_000 // hz
    u.cpu_system_ns = ticks.get("system", 0) * 1_000_000_000 // hz
    thr = _kv(os.path.join(cg.dir("cpu"), "cpu.stat"))
    u.throttling = {"periods": thr.get("nr_periods", 0), "throttled_periods": thr.get("nr_throttled", 0),
                    "throttled_time": thr.get("throttled_time", 0)}
    mem = cg.dir("memory")
    u.memory_usage = _int(os.path.join(mem, "memory.usage_in_bytes"))
    u.memory_max_usage = _int(os.path.join(mem, "memory.max_usage_in_bytes"))
    limit = _int(os.path.join(mem, "memory.limit_in_bytes"))
    u.memory_limit = 0 if limit >= _NO_LIMIT or limit <= 0 else limit
    u.memory_stat = _kv(os.path.join(mem, "memory.stat"))
    pids = cg.dir("pids")
    u.pids_current = _int(os.path.join(pids, "pids.current"))
    u.pids_limit = _int(os.path.join(pids, "pids.max"))
    blk = cg.dir("blkio")
    u.io_bytes = _blkio(os.path.join(blk, "blkio.throttle.io_service_bytes_recursive"))
    u.io_ops = _blkio(os.path.join(blk, "blkio.throttle.io_serviced_recursive"))
    return u


def _blkio(path: str) -> list[tuple[int, int, str, int]]:
    out = []
    for line in _text(path).splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            ma, mi = parts[0].split(":")
            out.append((int(ma), int(mi), parts[1], int(parts[2])))
    return out


def _v2(d: str) -> Usage:
    u = Usage()
    cpu = _kv(os.path.join(d, "cpu.stat"))
    u.cpu_total_ns = cpu.get("usage_usec", 0) * 1000
    u.cpu_user_ns = cpu.get("user_usec", 0) * 1000
    u.cpu_system_ns = cpu.get("system_usec", 0) * 1000
    u.throttling = {"periods": cpu.get("nr_periods", 0), "throttled_periods": cpu.get("nr_throttled", 0),
                    "throttled_time": cpu.get("throttled_usec", 0) * 1000}
    u.memory_usage = _int(os.path.join(d, "memory.current"))
    u.memory_max_usage = _int(os.path.join(d, "memory.peak"))
    u.memory_limit = _int(os.path.join(d, "memory.max"))  # "max" reads as 0
    u.memory_stat = _kv(os.path.join(d, "memory.stat"))
    u.pids_current = _int(os.path.join(d, "pids.current"))
    u.pids_limit = _int(os.path.join(d, "pids.max"))
    for line in _text(os.path.join(d, "io.stat")).splitlines():
        dev, *pairs = line.split()
        ma, mi = (int(x) for x in dev.split(":"))
        kv = dict(p.split("=", 1) for p in pairs if "=" in p)
        u.io_bytes += [(ma, mi, "read", int(kv.get("rbytes", 0))), (ma, mi, "write", int(kv.get("wbytes", 0)))]
        u.io_ops += [(ma, mi, "read", int(kv.get("rios", 0))), (ma, mi, "write", int(kv.get("wios", 0)))]
    return u
