"""Services as Engine API create bodies: Compose v2's labels and names, ports, mounts, health, the config hash."""
from __future__ import annotations

import textwrap
from pathlib import Path

from dockyard.compose import convert
from dockyard.compose.loader import Options, load

COMPOSE = """
services:
  web:
    image: busybox
    command: httpd -f
    ports: ["127.0.0.1:8080:80", "9000-9001:9000-9001/udp"]
    expose: ["7000"]
    volumes: ["data:/data", "./site:/site:ro", {type: tmpfs, target: /tmp, tmpfs: {size: 1m}}]
    networks:
      front: {aliases: [www]}
      back: {}
    healthcheck: {test: "true", interval: 1m30s, timeout: 500ms, retries: 3}
    restart: on-failure:3
    deploy: {replicas: 2, resources: {limits: {memory: 64m, cpus: "0.5"}}}
    secrets: [token]
    ulimits: {nofile: 1024}
    labels: {mine: "yes"}
networks: {front: {}, back: {}}
volumes: {data: {}}
secrets: {token: {file: ./token.txt}}
"""


def _project(tmp_path: Path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(COMPOSE))
    return load(Options(cwd=str(tmp_path), environ={}, project_name="demo"))


def test_create_body(tmp_path: Path) -> None:
    p = _project(tmp_path)
    body = convert.create_body(p, "web", 2)
    lbl = body["Labels"]
    assert lbl["com.docker.compose.project"] == "demo" and lbl["com.docker.compose.service"] == "web"
    assert lbl["com.docker.compose.container-number"] == "2" and lbl["com.docker.compose.oneoff"] == "False"
    assert lbl["com.docker.compose.project.working_dir"] == str(tmp_path)
    assert lbl["com.docker.compose.project.config_files"] == str(tmp_path / "compose.yaml")
    assert lbl["mine"] == "yes" and len(lbl["com.docker.compose.config-hash"]) == 64
    assert convert.container_name(p, "web", 2) == "demo-web-2"
    assert body["Cmd"] == ["httpd", "-f"]
    host = body["HostConfig"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                    "9000/udp": [{"HostIp": "", "HostPort": "9000"}],
                                    "9001/udp": [{"HostIp": "", "HostPort": "9001"}]}
    assert set(body["ExposedPorts"]) == {"80/tcp", "9000/udp", "9001/udp", "7000/tcp"}
    assert host["Binds"] == [f"{tmp_path}/site:/site:ro", f"{tmp_path}/token.txt:/run/secrets/token:ro"]
    assert host["Mounts"] == [{"Type": "volume", "Target": "/data", "ReadOnly": False, "Source": "demo_data"},
                              {"Type": "tmpfs", "Target": "/tmp", "ReadOnly": False,
                               "TmpfsOptions": {"SizeBytes": 1024 * 1024}}]
    assert body["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 90 * 10**9,
                                   "Timeout": 500 * 10**6, "Retries": 3}
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Memory"] == 64 * 1024 * 1024 and host["NanoCpus"] == 5 * 10**8
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 1024, "Hard": 1024}]
    # the first network (by name) is in the body with the service name as alias; back is connected after
    assert host["NetworkMode"] == "demo_back"
    assert body["NetworkingConfig"] == {"EndpointsConfig": {"demo_back": {"Aliases": ["web"]}}}
    assert convert.endpoint(p, "web", "front") == {"Aliases": ["web", "www"]}
    assert p.services["web"]["scale"] == 2


def test_config_hash_ignores_scale_but_not_config(tmp_path: Path) -> None:
    p = _project(tmp_path)
    svc = p.services["web"]
    before = convert.config_hash(svc)
    svc["scale"] = 5
    svc["deploy"]["replicas"] = 5
    assert convert.config_hash(svc) == before
    svc["environment"] = {"NEW": "1"}
    assert convert.config_hash(svc) != before


def test_network_and_volume_bodies_carry_labels(tmp_path: Path) -> None:
    p = _project(tmp_path)
    net = convert.network_body(p, "front")
    assert net["Name"] == "demo_front"
    assert net["Labels"]["com.docker.compose.network"] == "front"
    assert net["Labels"]["com.docker.compose.project"] == "demo"
    vol = convert.volume_body(p, "data")
    assert vol["Name"] == "demo_data" and vol["Labels"]["com.docker.compose.volume"] == "data"


def test_durations_and_sizes() -> None:
    assert convert.duration_ns("1h2m3s") == (3600 + 120 + 3) * 10**9
    assert convert.duration_ns(2) == 2 * 10**9
    assert convert.size_bytes("1g") == 1024**3 and convert.size_bytes("512") == 512
