"""A compose project for end-to-end tests (web + a client that reaches it by name, a user network, a
named volume, a published port, a healthcheck, depends_on) and runners for both compose clients."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from tests.support.daemon import REPO

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


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
