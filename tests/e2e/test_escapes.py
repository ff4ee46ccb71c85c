"""Escape attempts that must fail inside a default container, each checked from the host too."""
from __future__ import annotations

import os
import socket

import pytest


def sh(daemon, script: str, *opts: str):
    return daemon.docker("run", "--rm", *opts, "busybox", "sh", "-c", script)


def host_mounts() -> str:
    with open("/proc/self/mountinfo") as f:
        return f.read()


def test_mount_a_filesystem(daemon):
    r = sh(daemon, "mkdir -p /m && mount -t tmpfs dyescape-tmpfs /m")
    assert r.returncode != 0 and b"permission denied" in r.stderr.lower()
    assert "dyescape-tmpfs" not in host_mounts()


def test_load_a_kernel_module(daemon):
    before = open("/proc/modules").read() if os.path.exists("/proc/modules") else ""
    r = sh(daemon, "printf '\\177ELF' > /tmp/evil.ko && insmod /tmp/evil.ko")
    assert r.returncode != 0 and b"not permitted" in r.stderr.lower()
    after = open("/proc/modules").read() if os.path.exists("/proc/modules") else ""
    assert before == after


def test_write_proc_sysrq_and_kernel_sysctls(daemon):
    with open("/proc/sys/vm/swappiness") as f:
        swappiness = f.read()
    r = sh(daemon, "echo 7 > /proc/sys/vm/swappiness || exit 3")
    assert r.returncode == 3, r.stderr
    with open("/proc/sys/vm/swappiness") as f:
        assert f.read() == swappiness
    # /proc/sysrq-trigger: read-only where the kernel has it, absent where it has not
    r = sh(daemon, "echo h > /proc/sysrq-trigger")
    assert r.returncode != 0


def test_write_the_hosts_cgroup_tree(daemon):
    name = "dyescape-cg"
    r = sh(daemon, f"mkdir /sys/fs/cgroup/{name} || mount -t cgroup2 none /sys/fs/cgroup || "
                   f"mount -t cgroup -o memory none /sys/fs/cgroup || exit 9; mkdir /sys/fs/cgroup/{name}")
    assert r.returncode != 0
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        assert name not in dirs
        break
    assert not any(os.path.exists(f"/sys/fs/cgroup/{c}/{name}") for c in os.listdir("/sys/fs/cgroup"))


def _host_disk() -> tuple[int, int, str]:
    with open("/proc/partitions") as f:
        rows = [l.split() for l in f.read().splitlines()[2:] if l.strip()]
    major, minor, _, name = rows[0]
    return int(major), int(minor), name


def test_mknod_and_open_a_host_disk(daemon):
    major, minor, name = _host_disk()
    r = sh(daemon, f"mknod /tmp/disk b {major} {minor} || exit 2; head -c 512 /tmp/disk > /dev/null "
                   "&& echo READ")
    assert b"READ" not in r.stdout and r.returncode != 0
    assert b"not permitted" in r.stderr.lower()


def test_ptrace_or_signal_a_host_process(daemon):
    me = os.getpid()
    r = sh(daemon, f"kill -0 {me} || exit 5; cat /proc/{me}/environ")
    assert r.returncode == 5, (r.returncode, r.stderr)
    # and the process's memory cannot be reached through /proc either
    r = sh(daemon, f"cat /proc/{me}/mem")
    assert r.returncode != 0


def test_sethostname_does_not_touch_the_host(daemon):
    host = socket.gethostname()
    r = sh(daemon, "hostname dyescape-host")
    assert r.returncode != 0  # no CAP_SYS_ADMIN
    assert socket.gethostname() == host


def test_host_processes_are_invisible(daemon):
    r = sh(daemon, "ls -d /proc/[0-9]*")
    pids = [p.rsplit("/", 1)[1] for p in r.stdout.decode().split()]
    assert len(pids) <= 3, pids  # sh, ls (and nothing of the host)
    assert str(daemon.proc.pid) not in pids or len(pids) <= 3


@pytest.mark.parametrize("attempt", ["mount", "mknod"])
def test_unconfined_seccomp_still_needs_caps(daemon, attempt):
    """Without seccomp, capabilities and the device cgroup still hold."""
    major, minor, _ = _host_disk()
    script = {"mount": "mkdir -p /m && mount -t tmpfs dyescape-t2 /m",
              "mknod": f"mknod /tmp/d b {major} {minor} && head -c1 /tmp/d"}[attempt]
    r = sh(daemon, script, "--security-opt", "seccomp=unconfined")
    assert r.returncode != 0
    assert "dyescape-t2" not in host_mounts()
