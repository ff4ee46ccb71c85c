"""A private reference dockerd (Debian's docker.io 20.10) on scratch paths, for differential tests.

It never touches the system's docker service, /var/run/docker.sock, docker0 or the host's
firewall: `--iptables=false --ip-forward=false --ip-masq=false` leave the FORWARD policy and
sysctls alone (a dockerd with iptables on sets FORWARD to DROP, which breaks our other tests),
and the default bridge is a bridge of our own (`dyt...` name, a 10.x subnet). Its containerd is
the one dockerd starts itself under the exec root. `cleanup()` removes every container and
network through the API, ends dockerd by the pid it wrote, ends the containerd shims of its own
exec root by pid, unmounts and deletes the scratch tree, its bridges and its cgroups.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.daemon import (TEST_PREFIX, _kill_cgroup_tree, _ping, _remove_cgroups,
                                  _unmount_under)

# dockerd 20.10 always makes this (its plugin exec root); removed again if we made it
PLUGIN_DIR = Path("/run/docker/plugins")


class DockerdOracle:
    """Starts, drives and removes one dockerd. The same client helpers as TestDaemon."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix=f"{TEST_PREFIX}-dockerd-"))
        self.data_root = self.base / "data"
        self.exec_root = self.base / "exec"
        self.socket = str(self.base / "docker.sock")
        self.pidfile = self.base / "dockerd.pid"
        self.bridge = f"dytcmp{secrets.token_hex(3)}"
        self.cgroup_parent = f"{TEST_PREFIX}-{self.base.name}"
        self.bridge_cidr = f"10.{random.randint(64, 250)}.{random.randint(0, 255)}.1/24"
        self.log_path = self.base / "dockerd.log"
        self.proc: subprocess.Popen | None = None
        self._made_plugin_dir = not PLUGIN_DIR.exists()

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host,
                "DOCKER_CONFIG": str(self.base / "docker-config")}

    def start(self, timeout: float = 60) -> None:
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", self.bridge_cidr, "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
             "-H", self.host, "--pidfile", str(self.pidfile),
             "--config-file", str(self._config_file()),
             "--iptables=false", "--ip-forward=false", "--ip-masq=false",
             "--bridge", self.bridge, "--cgroup-parent", self.cgroup_parent],
            stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited:\n{self.log_path.read_text()[-3000:]}")
            if _ping(self.socket):
                return
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not answer:\n{self.log_path.read_text()[-3000:]}")

    def _config_file(self) -> Path:
        path = self.base / "daemon.json"
        # the trust key would go to /etc/docker/key.json otherwise
        path.write_text(json.dumps({"deprecated-key-path": str(self.base / "key.json")}))
        return path

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.host, version="1.41", timeout=120)

    def docker(self, *args: str, input: bytes | None = None, timeout: float = 60,
               check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, input=input, capture_output=True,
                              timeout=timeout, check=check)

    def cleanup(self) -> None:
        bridges = self._remove_objects()
        self._stop()
        for pid in self._shim_pids():
            _kill(pid)
        _kill_cgroup_tree(self.cgroup_parent)
        _unmount_under(str(self.base))
        for name in bridges + [self.bridge]:
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        _remove_cgroups(self.cgroup_parent)
        shutil.rmtree(self.base, ignore_errors=True)
        if self._made_plugin_dir:
            for d in (PLUGIN_DIR, PLUGIN_DIR.parent):
                try:
                    d.rmdir()
                except OSError:
                    pass

    def _remove_objects(self) -> list[str]:
        """Remove containers and networks through the API; the bridges of its networks."""
        if not self.proc or self.proc.poll() is not None or not _ping(self.socket):
            return []
        api = self.client().api
        for c in api.containers(all=True):
            try:
                api.remove_container(c["Id"], force=True, v=True)
            except Exception:  # noqa: BLE001 - best effort; the data root goes anyway
                pass
        bridges = []
        for n in api.networks():
            if n["Name"] in ("bridge", "host", "none"):
                continue
            bridges.append(n.get("Options", {}).get("com.docker.network.bridge.name")
                           or f"br-{n['Id'][:12]}")
            try:
                api.remove_network(n["Id"])
            except Exception:  # noqa: BLE001
                pass
        return bridges

    def _stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            pid = self.proc.pid
        if pid != self.proc.pid:
            pid = self.proc.pid  # the pidfile must name the process we started
        os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.proc.wait(10)

    def _shim_pids(self) -> list[int]:
        """containerd and shims serving our exec root (they are started by our dockerd)."""
        mark = str(self.exec_root).encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if mark in cmdline and b"containerd" in cmdline:
                pids.append(int(entry))
        return pids


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

