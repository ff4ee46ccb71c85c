"""A private dockyardd for tests and benchmarks: own data root, exec root, socket, cgroup parent.

Everything it makes is removed by `cleanup()`, even after a failed test: the daemon and its
keeper and supervisor (ended by their PIDs), mounts under its roots, and its cgroups.
"""
from __future__ import annotations

import fcntl
import json
import random
import secrets
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dockyard.linux import fstree

REPO = Path(__file__).resolve().parents[2]
TEST_PREFIX = "dytest"


def _ping(sock: str) -> bool:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    try:
        s.connect(sock)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
    finally:
        s.close()


class TestDaemon:
    __test__ = False  # a helper, not a test class, despite its name
    def __init__(self, base: Path | None = None, runtime: str = "builtin",
                 extra_config: dict | None = None) -> None:
        self.base = Path(base or tempfile.mkdtemp(prefix=f"{TEST_PREFIX}-"))
        self.data_root = self.base / "data"
        self.exec_root = self.base / "exec"
        self.socket = str(self.base / "dockyard.sock")
        self.cgroup_parent = f"{TEST_PREFIX}-{self.base.name}"
        self.config_file = self.base / "daemon.json"
        # kernel objects of its networks: links named <net_prefix>..., nftables table ip <net_prefix>
        self.net_prefix = f"dyt{secrets.token_hex(2)}"
        self.subnet_base = f"10.{random.randint(64, 250)}.0.0/16"
        self.config_file.write_text(json.dumps({
            "cgroup-parent": self.cgroup_parent, "default-runtime": runtime,
            # docker.io is out of reach from tests: a refused loopback port, not a DNS query
            "hub-host": "127.0.0.1:9",
            "network-prefix": self.net_prefix,
            "default-address-pools": [{"base": self.subnet_base, "size": 24}],
            **(extra_config or {})}))
        self.proc: subprocess.Popen | None = None
        self.log_path = self.base / "dockyardd.log"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKYARD_HOST": self.host,
                "DOCKER_CONFIG": str(self.base / "docker-config")}

    def default_argv(self) -> list[str]:
        return [sys.executable, "-m", "dockyard.daemon.main", "-H", self.host,
                "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "--config-file", str(self.config_file), "--log-level", "debug"]

    def start(self, timeout: float = 30, argv: list[str] | None = None) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv or self.default_argv(), stdout=log, stderr=log, cwd=REPO)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockyardd exited:\n{self.log_path.read_text()[-3000:]}")
            if _ping(self.socket):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dockyardd did not answer:\n{self.log_path.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """End the daemon we started (not its supervisor: containers must outlive it)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def supervisor_pid(self) -> int | None:
        return live_supervisor_pid(str(self.exec_root))

    def keeper_pid(self) -> int | None:
        return live_supervisor_pid(str(self.exec_root), "keeper.lock")

    def cleanup(self, keep_network: bool = False) -> None:
        """Remove all the daemon made; with `keep_network`, leave its links and nftables table
        (for tests that start the next daemon on the same network prefix)."""
        self.kill(signal.SIGTERM)
        kill_supervisor(str(self.exec_root))
        _kill_cgroup_tree(self.cgroup_parent)
        _unmount_under(str(self.base))
        if not keep_network:
            _remove_network_objects(self.net_prefix)
        _remove_cgroups(self.cgroup_parent)
        fstree.remove_tree(self.base, ignore_errors=True)  # iterative: containers make deep trees

    def leftovers(self, running: set[str]) -> tuple[list[str], list[str]]:
        """Mounts under the data root and container cgroups that no running container explains."""
        prefix = str(self.data_root).rstrip("/") + "/"
        mounts = [p for p in _mountpoints_under(prefix.rstrip("/"))
                  if p.startswith(prefix) and not any(cid in p for cid in running)]
        cgroups = [str(c) for parent in _cgroup_dirs(self.cgroup_parent)
                   for c in parent.iterdir() if c.is_dir() and c.name not in running]
        return mounts, cgroups

    # clients ---------------------------------------------------------------------------
    def docker(self, *args: str, input: bytes | None = None, timeout: float = 60,
               check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, input=input, capture_output=True,
                              timeout=timeout, check=check)

    def dockyard(self, *args: str, input: bytes | None = None, timeout: float = 60,
                 check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dockyard.cli.main", *args], env=self.env,
                              input=input, capture_output=True, timeout=timeout, check=check,
                              cwd=REPO)

    def client(self):  # docker-py, imported lazily: unit tests don't need it
        import docker

        return docker.DockerClient(base_url=self.host, version="1.41", timeout=120)


def wait_until(cond, what: str, timeout: float = 30):
    """The first true value of `cond()`, polled; AssertionError naming `what` after `timeout`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def kill_supervisor(exec_root: str) -> None:
    """End the keeper first (else it starts the supervisor again), then the supervisor."""
    for lock in ("keeper.lock", "supervisor.lock"):
        pid = live_supervisor_pid(exec_root, lock)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return  # a zombie: it is dead, its parent reaps it
        except OSError:
            return
        time.sleep(0.02)


def live_supervisor_pid(exec_root: str, lock: str = "supervisor.lock") -> int | None:
    """The pid in supervisor.lock (or keeper.lock), only while its process still holds that lock.

    A stale pid (the process died) may by now belong to an unrelated process: never signal it.
    """
    try:
        fd = os.open(os.path.join(exec_root, lock), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            data = os.pread(fd, 32, 0)
            return int(data) if data.strip().isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def busybox_rootfs_tar() -> bytes:
    return subprocess.run([str(REPO / "tools" / "mkbusybox-rootfs")], capture_output=True,
                          check=True).stdout


def import_busybox(d: TestDaemon, name: str = "busybox:latest") -> str:
    repo, _, tag = name.partition(":")
    api = d.client().api
    out = api.import_image_from_data(busybox_rootfs_tar(), repository=repo, tag=tag or "latest")
    last = [json.loads(line) for line in out.splitlines() if line.strip()][-1]
    return last["status"]


def _mountpoints_under(prefix: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    points = [p.replace("\\040", " ") for p in points]
    return [p for p in points if p == prefix or p.startswith(prefix.rstrip("/") + "/")]


def _unmount_under(prefix: str) -> None:
    for point in sorted(_mountpoints_under(prefix), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _remove_network_objects(prefix: str) -> None:
    """Links and the nftables table a test daemon made (all named from its own prefix)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(prefix):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", prefix], capture_output=True)
    for lock in (f"network-prefix-{prefix}.lock", f"bridge-{prefix}0.lock"):  # network/setup.py's
        try:
            os.unlink(os.path.join("/run/lock/dockyard", lock))
        except FileNotFoundError:
            pass


def _cgroup_dirs(parent: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    dirs = [root / parent] + [p / parent for p in root.iterdir() if p.is_dir()]
    return [d for d in dirs if d.is_dir()]


def _kill_cgroup_tree(parent: str) -> None:
    """Kill what is left in the test's cgroups: only containers this test's daemon started."""
    for d in _cgroup_dirs(parent):
        for procs in d.rglob("cgroup.procs"):
            try:
                for pid in procs.read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass


def _remove_cgroups(parent: str) -> None:
    deadline = time.time() + 5
    for d in _cgroup_dirs(parent):
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                          reverse=True) + [d]:
            while True:
                try:
                    sub.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.time() > deadline:
                        break
                    time.sleep(0.05)


@contextmanager
def private_daemon(runtime: str = "builtin", extra_config: dict | None = None) -> Iterator[TestDaemon]:
    """A started daemon of its own with busybox imported, cleaned up afterwards; skips without root."""
    import pytest

    if os.geteuid() != 0:
        pytest.skip("needs root: the daemon mounts overlayfs and creates namespaces and cgroups")
    d = TestDaemon(runtime=runtime, extra_config=extra_config)
    try:
        d.start()
        import_busybox(d)
        yield d
    finally:
        d.cleanup()

