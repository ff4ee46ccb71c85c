"""Compose test support: a project (web + a client that reaches it by name, a user network, a named
volume, a published port, a healthcheck, depends_on), runners for both compose clients, and a
scratch dockerd to compare with (--iptables=false --ip-forward=false and no default bridge, so it
leaves the host's FORWARD policy alone; ended by its pid)."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.integration.distribution.goregistry import free_port  # noqa: F401 - the tests' port picker
from tests.support.daemon import (REPO, TEST_PREFIX, _kill_cgroup_tree, _ping, _remove_cgroups, _unmount_under,
                                  busybox_rootfs_tar)

PROJECT = """
services:
  web:
    image: busybox
    command: sh -c 'mkdir -p /w && echo "$$GREETING" > /w/index.html && echo web-up && exec httpd -f -p 80 -h /w'
    environment:
      GREETING: ${GREETING:-hello}
    stop_grace_period: 1s
    ports: ["127.0.0.1:${WEB_PORT}:80"]
    networks:
      back:
        aliases: [www]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://localhost/"]
      interval: 1s
      timeout: 2s
      retries: 20
  client:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; echo client-up; while true; do sleep 1; done'
    depends_on:
      web: {condition: service_healthy}
    networks: [back]
    volumes: [data:/data]
  once:
    image: busybox
    command: sh -c 'echo once > /data/once'
    volumes: [data:/data]
    profiles: [tools]
networks:
  back: {}
volumes:
  data: {}
"""


def project_dir(tmp_path: Path, text: str = PROJECT) -> Path:
    d = tmp_path / f"dyt{uuid.uuid4().hex[:6]}"
    d.mkdir()
    (d / "compose.yaml").write_text(text)
    return d


class Compose:
    """Runs `dockyard compose` (ours) or `docker-compose` (1.29) in a project directory."""

    def __init__(self, host: str, directory: Path, env: dict[str, str], v1: bool = False) -> None:
        self.host = host
        self.directory = directory
        self.v1 = v1
        self.env = {**os.environ, "DOCKER_HOST": host, "DOCKYARD_HOST": host, "PYTHONPATH": str(REPO),
                    "COMPOSE_DOCKER_CLI_BUILD": "0", "DOCKER_BUILDKIT": "0", **env}

    def __call__(self, *args: str, timeout: float = 120, input: bytes | None = None) -> subprocess.CompletedProcess:
        argv = (["docker-compose", "--no-ansi"] if self.v1 else [sys.executable, "-m", "dockyard.cli.main", "compose"])
        return subprocess.run([*argv, *args], cwd=self.directory, env=self.env, capture_output=True, timeout=timeout,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args: str, timeout: float = 120) -> str:
        r = self(*args, timeout=timeout)
        assert r.returncode == 0, (args, r.stdout.decode(), r.stderr.decode())
        return r.stdout.decode()

    def ps_json(self, *args: str) -> list[dict]:
        out = self.ok("ps", "--format", "json", *args)
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def docker_compose_v1() -> str | None:
    return shutil.which("docker-compose")


class ScratchDockerd:
    """One dockerd with its own data root, exec root, socket, pidfile, cgroup parent and address pool."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix=f"{TEST_PREFIX}-cdockerd-"))
        self.socket = str(self.base / "docker.sock")
        self.host = f"unix://{self.socket}"
        self.pidfile = self.base / "dockerd.pid"
        self.cgroup_parent = f"{TEST_PREFIX}-{self.base.name}"
        self.pool = f"10.{random.randint(64, 250)}.0.0/16"
        self.proc: subprocess.Popen | None = None
        self.env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.base / "cfg")}

    def start(self) -> None:
        (self.base / "daemon.json").write_text(json.dumps({"deprecated-key-path": str(self.base / "key.json")}))
        log = open(self.base / "dockerd.log", "ab")
        self.proc = subprocess.Popen(
            ["dockerd", "--data-root", str(self.base / "data"), "--exec-root", str(self.base / "exec"),
             "-H", self.host, "--pidfile", str(self.pidfile), "--config-file", str(self.base / "daemon.json"),
             "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
             "--cgroup-parent", self.cgroup_parent, "--default-address-pool", f"base={self.pool},size=24"],
            stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 60
        while not _ping(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.base / "dockerd.log").read_text()[-3000:])
            time.sleep(0.1)
        subprocess.run(["docker", "import", "-", "busybox:latest"], input=busybox_rootfs_tar(), env=self.env,
                       check=True, capture_output=True)

    def docker(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], env=self.env, capture_output=True, timeout=60)

    def cleanup(self) -> None:
        if self.proc and self.proc.poll() is None:
            ids = self.docker("ps", "-aq").stdout.split()
            if ids:
                self.docker("rm", "-f", "-v", *[i.decode() for i in ids])
            self.docker("network", "prune", "-f")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        _kill_cgroup_tree(self.cgroup_parent)
        _unmount_under(str(self.base))
        _remove_cgroups(self.cgroup_parent)
        shutil.rmtree(self.base, ignore_errors=True)
