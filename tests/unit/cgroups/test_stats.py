from __future__ import annotations

import os

from dockyard.cgroups import V1Cgroup, V2Cgroup
from dockyard.cgroups.stats import read_usage


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_v2_usage(tmp_path):
    d = tmp_path / "dy" / "c1"
    _write(str(d / "cgroup.controllers"), "")
    _write(str(tmp_path / "cgroup.controllers"), "cpu memory pids io")
    _write(str(d / "cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\n")
    _write(str(d / "memory.current"), "4096\n")
    _write(str(d / "memory.max"), "max\n")
    _write(str(d / "memory.stat"), "anon 4096\ninactive_file 0\n")
    _write(str(d / "pids.current"), "2\n")
    _write(str(d / "pids.max"), "50\n")
    _write(str(d / "io.stat"), "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n")
    u = read_usage(V2Cgroup(str(tmp_path), "/dy/c1"))
    assert (u.cpu_total_ns, u.cpu_user_ns, u.cpu_system_ns) == (1_500_000, 1_000_000, 500_000)
    assert u.memory_usage == 4096 and u.memory_limit == 0 and u.pids_current == 2 and u.pids_limit == 50
    assert (8, 0, "read", 10) in u.io_bytes and (8, 0, "write", 2) in u.io_ops


def test_v1_usage(tmp_path):
    for c in ("cpuacct", "cpu", "memory", "pids", "blkio"):
        os.makedirs(tmp_path / c / "dy" / "c1")
    base = tmp_path
    _write(str(base / "cpuacct/dy/c1/cpuacct.usage"), "900\n")
    _write(str(base / "cpuacct/dy/c1/cpuacct.usage_percpu"), "400 500 \n")
    _write(str(base / "memory/dy/c1/memory.usage_in_bytes"), "8192\n")
    _write(str(base / "memory/dy/c1/memory.limit_in_bytes"), "9223372036854771712\n")
    _write(str(base / "pids/dy/c1/pids.current"), "3\n")
    _write(str(base / "pids/dy/c1/pids.max"), "max\n")
    _write(str(base / "blkio/dy/c1/blkio.throttle.io_service_bytes_recursive"), "8:0 Read 5\n8:0 Write 6\nTotal 11\n")
    u = read_usage(V1Cgroup(str(base), "/dy/c1"))
    assert u.cpu_total_ns == 900 and u.percpu_ns == [400, 500] and u.memory_usage == 8192
    assert u.memory_limit == 0 and u.pids_current == 3 and u.pids_limit == 0
    assert u.io_bytes == [(8, 0, "Read", 5), (8, 0, "Write", 6)]
