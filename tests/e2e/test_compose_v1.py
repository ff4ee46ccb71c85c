"""docker-compose 1.29 (Debian's, Python) driving dockyardd unchanged, and both compose clients pulling
from and pushing to a registry on loopback."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import pytest

from tests.e2e.test_pull_push import registry  # noqa: F401 - its loopback registry fixture
from tests.integration.distribution.goregistry import have_tools
from tests.support.compose import Compose, docker_compose_v1, free_port, project_dir

needs_v1 = pytest.mark.skipif(docker_compose_v1() is None, reason="needs docker-compose 1.29 (scripts/setup)")


@pytest.fixture()
def v1(daemon, tmp_path):
    port = free_port()
    c = Compose(daemon.host, project_dir(tmp_path), {"WEB_PORT": str(port)}, v1=True)
    c.port = port  # type: ignore[attr-defined]
    yield c
    c("down", "-v", "--remove-orphans", "-t", "1")


def _states(c: Compose, daemon) -> dict[str, str]:
    out = daemon.docker("ps", "-a", "--filter", f"label=com.docker.compose.project={c.directory.name}",
                        "--format", "{{.Names}} {{.State}}").stdout.decode()
    return dict(line.split() for line in out.splitlines())


@needs_v1
def test_docker_compose_v1_drives_a_project(v1, daemon):
    c, name = v1, v1.directory.name
    c.ok("up", "-d")
    assert _states(c, daemon) == {f"{name}_web_1": "running", f"{name}_client_1": "running"}
    assert "Up (healthy)" in c.ok("ps")
    assert urllib.request.urlopen(f"http://127.0.0.1:{c.port}/", timeout=5).read() == b"hello\n"
    assert c.ok("exec", "-T", "client", "wget", "-qO-", "http://web/") == "hello\n"
    assert c.ok("exec", "-T", "client", "wget", "-qO-", "http://www/") == "hello\n"
    assert "web-up" in c.ok("logs", "web")
    follow = subprocess.run(["timeout", "-s", "KILL", "3", "docker-compose", "--no-ansi", "logs", "-f", "client"],
                            cwd=c.directory, env=c.env, capture_output=True)
    assert b"client-up" in follow.stdout
    r = c("run", "--rm", "client", "sh", "-c", "wget -qO- http://web/")
    assert r.returncode == 0 and r.stdout.endswith(b"hello\n"), r.stderr.decode()
    c.ok("up", "-d", "--scale", "client=2")
    assert _states(c, daemon)[f"{name}_client_2"] == "running"
    assert c.ok("exec", "-T", "--index=2", "client", "wget", "-qO-", "http://web/") == "hello\n"
    events = subprocess.Popen(["docker-compose", "--no-ansi", "events", "--json"], cwd=c.directory, env=c.env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        c.ok("restart", "-t", "1", "client")
    finally:
        time.sleep(0.5)
        events.kill()
    seen = [json.loads(line) for line in events.stdout.read().splitlines() if line.strip()]
    assert any(e["service"] == "client" and e["action"] == "restart" for e in seen), seen
    c.ok("stop", "-t", "1", "client")
    assert _states(c, daemon)[f"{name}_client_1"] == "exited"
    c.ok("start", "client")
    c.ok("pause", "web")
    assert _states(c, daemon)[f"{name}_web_1"] == "paused"
    c.ok("unpause", "web")
    assert "httpd" in c.ok("top", "web")
    assert c.ok("port", "web", "80").strip() == f"127.0.0.1:{c.port}"
    assert "GREETING: hello" in c.ok("config")
    c.ok("up", "-d", "--scale", "client=1")
    c.ok("down", "-v", "--rmi", "local", "-t", "1")
    assert _states(c, daemon) == {}
    assert f"{name}_back" not in daemon.docker("network", "ls").stdout.decode()
    assert f"{name}_data" not in daemon.docker("volume", "ls").stdout.decode()


@needs_v1
def test_docker_compose_v1_sees_dockyard_compose_projects(daemon, tmp_path):
    # the same labels: docker-compose 1.29 lists and stops what dockyard compose made (v1 names differ)
    port = free_port()
    d = project_dir(tmp_path)
    ours = Compose(daemon.host, d, {"WEB_PORT": str(port)})
    theirs = Compose(daemon.host, d, {"WEB_PORT": str(port)}, v1=True)
    try:
        ours.ok("up", "-d")
        listing = theirs.ok("ps")
        assert f"{d.name}-web-1" in listing and f"{d.name}-client-1" in listing
        theirs.ok("stop", "-t", "1")
        assert {row["State"] for row in ours.ps_json("-a")} == {"exited"}
    finally:
        ours("down", "-v", "-t", "1")


@pytest.mark.parametrize("client", ["dockyard", pytest.param("v1", marks=needs_v1)])
def test_pull_and_push(client, daemon, registry, tmp_path):
    if not have_tools():
        pytest.skip("needs docker-registry and skopeo (scripts/setup)")
    d = project_dir(tmp_path, f"""
services:
  pulled: {{image: "{registry.host}/busybox:latest"}}
  pushed: {{image: "{registry.host}/dytpushed:1"}}
""")
    c = Compose(daemon.host, d, {}, v1=client == "v1")
    daemon.docker("rmi", "-f", f"{registry.host}/busybox:latest")
    assert daemon.docker("tag", "busybox", f"{registry.host}/dytpushed:1").returncode == 0
    c.ok("pull", "pulled")
    assert daemon.docker("image", "inspect", f"{registry.host}/busybox:latest").returncode == 0
    try:
        c.ok("push", "pushed")
        assert "layers" in json.dumps(registry.inspect_raw("dytpushed:1"))
    finally:
        for tag in (f"{registry.host}/busybox:latest", f"{registry.host}/dytpushed:1"):
            daemon.docker("rmi", "-f", tag)


def _has_build(daemon) -> bool:
    api = daemon.client().api
    return api._post(api._url("/build"), data=b"").status_code != 404


@pytest.mark.parametrize("client", ["dockyard", pytest.param("v1", marks=needs_v1)])
def test_build_and_up_build(client, daemon, tmp_path):
    if not _has_build(daemon):
        pytest.skip("this dockyardd has no POST /build yet (the builder lands separately)")
    d = project_dir(tmp_path, """
services:
  app:
    build: {context: ./app, args: {WORD: built}}
    command: cat /word
""")
    (d / "app").mkdir()
    (d / "app" / "Dockerfile").write_text("FROM busybox\nARG WORD\nRUN echo $WORD > /word\n")
    c = Compose(daemon.host, d, {}, v1=client == "v1")
    image = f"{d.name}-app" if client == "dockyard" else f"{d.name}_app"
    try:
        c.ok("build")
        assert daemon.docker("image", "inspect", image).returncode == 0
        (d / "app" / "Dockerfile").write_text("FROM busybox\nARG WORD\nRUN echo again-$WORD > /word\n")
        c.ok("up", "-d", "--build")
        assert daemon.docker("run", "--rm", image, "cat", "/word").stdout == b"again-built\n"
    finally:
        c("down", "--rmi", "local", "-t", "1")
    assert daemon.docker("image", "inspect", image).returncode != 0
