"""Resource limits seen from inside the container and in its cgroup (v1 here), and the cgroup v2
code path against a cgroup2 hierarchy this test mounts itself."""
from __future__ import annotations

import os
import subprocess
import tempfile
import uuid

import pytest

from dockyard.cgroups import V1Cgroup, V2Cgroup
from dockyard.cgroups.resources import Resources

V1 = os.path.isdir("/sys/fs/cgroup/memory") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def cgroup_file(daemon, cid: str, controller: str, name: str) -> str:
    with open(f"/sys/fs/cgroup/{controller}/{daemon.cgroup_parent}/{cid}/{name}") as f:
        return f.read().strip()


@pytest.mark.skipif(not V1, reason="checks cgroup v1 files; this host is not a v1/v2 hybrid")
def test_limits_in_the_v1_cgroup_and_inside(daemon):
    d = daemon
    cid = d.docker("run", "-d", "--memory", "64m", "--memory-swap", "128m", "--memory-reservation",
                   "32m", "--oom-kill-disable", "--cpus", "0.5", "--cpu-shares", "512",
                   "--cpuset-cpus", "0", "--pids-limit", "50", "--ulimit", "nofile=256:512",
                   "--shm-size", "16m", "--blkio-weight", "300", "busybox", "sh", "-c",
                   "ulimit -n; ulimit -Hn; df -k /dev/shm; sleep 30").stdout.decode().strip()
    try:
        assert cgroup_file(d, cid, "memory", "memory.limit_in_bytes") == str(64 << 20)
        assert cgroup_file(d, cid, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
        if os.path.exists(f"/sys/fs/cgroup/memory/{d.cgroup_parent}/{cid}/memory.memsw.limit_in_bytes"):
            assert cgroup_file(d, cid, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
        assert "oom_kill_disable 1" in cgroup_file(d, cid, "memory", "memory.oom_control")
        assert cgroup_file(d, cid, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cgroup_file(d, cid, "cpu", "cpu.shares") == "512"
        assert cgroup_file(d, cid, "cpuset", "cpuset.cpus") == "0"
        assert cgroup_file(d, cid, "pids", "pids.max") == "50"
        assert "a *:* rwm" not in cgroup_file(d, cid, "devices", "devices.list")
        out = subprocess.run(["docker", "logs", cid], env=d.env, capture_output=True, timeout=30).stdout
        lines = out.decode().split("\n")
        assert lines[0] == "256" and lines[1] == "512"
        assert " 16384 " in lines[3]
    finally:
        d.docker("rm", "-f", cid)


def test_pids_limit_is_enforced(daemon):
    r = daemon.docker("run", "--rm", "--pids-limit", "5", "busybox", "sh", "-c",
                      "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait")
    assert b"can't fork" in r.stderr or b"Resource temporarily unavailable" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--memory", "1m"], "Minimum memory limit allowed is 6MB"),
    (["--memory-swap", "100m"], "You should always set the Memory limit when using Memoryswap limit"),
    (["--memory", "64m", "--memory-swap", "32m"], "Minimum memoryswap limit should be larger than memory limit"),
    (["--memory-reservation", "1m"], "Minimum memory reservation allowed is 6MB"),
    (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
    (["--ulimit", "nofile=10:5"], "ulimit soft limit must be less than or equal to hard limit"),
])
def test_bad_resource_values(daemon, args, message):
    before = daemon.docker("ps", "-aq").stdout
    r = daemon.docker("create", *args, "busybox", "true")
    assert r.returncode != 0 and message.encode() in r.stderr, r.stderr
    assert daemon.docker("ps", "-aq").stdout == before


@pytest.fixture()
def cgroup2_root():
    """A cgroup2 mount of our own. On a hybrid host it is the same (mostly empty) v2 hierarchy as
    /sys/fs/cgroup/unified: controllers bound to v1 cannot be enabled there."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount cgroup2")
    root = tempfile.mkdtemp(prefix="dytest-cg2-")
    r = subprocess.run(["mount", "-t", "cgroup2", "none", root], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(root)
        pytest.skip(f"cannot mount cgroup2: {r.stderr.strip()}")
    try:
        yield root
    finally:
        subprocess.run(["umount", root], capture_output=True)
        os.rmdir(root)


def test_v2_code_path_on_an_own_cgroup2_mount(cgroup2_root):
    available = open(os.path.join(cgroup2_root, "cgroup.controllers")).read().split()
    cg = V2Cgroup(cgroup2_root, f"/dytest-v2-{uuid.uuid4().hex[:8]}/c1")
    try:
        want: dict = {}
        if "pids" in available:
            want["pids"] = 20
        if "memory" in available:
            want.update(memory=64 << 20, memory_reservation=32 << 20)
        if "cpu" in available:
            want.update(cpu_shares=512, cpu_quota=50000, cpu_period=100000)
        cg.create(Resources(**want))
        assert cg.exists()
        d = cg.dir()
        if "pids" in available:
            assert open(os.path.join(d, "pids.max")).read().strip() == "20"
        if "memory" in available:
            assert open(os.path.join(d, "memory.max")).read().strip() == str(64 << 20)
            assert open(os.path.join(d, "memory.low")).read().strip() == str(32 << 20)
        if "cpu" in available:
            assert open(os.path.join(d, "cpu.max")).read().split() == ["50000", "100000"]
        if not {"pids", "memory", "cpu"} & set(available):
            pytest.skip("the v2 hierarchy has none of pids/memory/cpu on this hybrid host "
                        f"(available: {available or 'none'}); the tree was created, limits not testable")
    finally:
        try:
            cg.delete(1)
            os.rmdir(os.path.dirname(cg.dir()))
        except OSError:
            pass


def test_v1_devices_rules_written_in_order(tmp_path):
    for c in ("devices",):
        (tmp_path / c).mkdir()
    cg = V1Cgroup(str(tmp_path), "/p/c")
    cg.create()
    # a fake hierarchy: files are appended to, as the kernel would read them one by one
    allow = tmp_path / "devices/p/c/devices.allow"
    deny = tmp_path / "devices/p/c/devices.deny"
    from dockyard.runtime.security import DEFAULT_DEVICE_RULES
    cg.apply(Resources(devices=DEFAULT_DEVICE_RULES))
    assert deny.read_text() == "a"  # write() truncates: the last rule written is what remains
    assert allow.read_text().startswith("c 136:* rwm")
