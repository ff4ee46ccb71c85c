"""`dockyard compose` end to end against dockyardd: real containers on a project network that reach
each other by service name, convergence by config hash, scaling, one-offs, logs, down."""
from __future__ import annotations

import json
import re
import urllib.request

import pytest

from tests.support.compose import Compose, free_port, project_dir


@pytest.fixture()
def project(daemon, tmp_path):
    port = free_port()
    d = project_dir(tmp_path)
    c = Compose(daemon.host, d, {"WEB_PORT": str(port)})
    c.port = port  # type: ignore[attr-defined]
    yield c
    c("down", "-v", "--remove-orphans", "-t", "1")
    # down leaves nothing of the project behind, networks made for profile services included
    label = f"label=com.docker.compose.project={d.name}"
    assert daemon.docker("network", "ls", "-q", "--filter", label).stdout == b""
    assert daemon.docker("volume", "ls", "-q", "--filter", label).stdout == b""


def _ids(c: Compose) -> dict[str, str]:
    return {row["Name"]: row["ID"] for row in c.ps_json("-a")}


def test_up_ps_exec_by_name_logs_and_down(project, daemon):
    c = project
    name = c.directory.name
    r = c("up", "-d")
    assert r.returncode == 0, r.stderr.decode()
    rows = {row["Service"]: row for row in c.ps_json()}
    assert set(rows) == {"web", "client"}
    assert rows["web"]["Name"] == f"{name}-web-1" and rows["web"]["State"] == "running"
    assert rows["web"]["Health"] == "healthy"  # client waited for it (service_healthy)
    assert urllib.request.urlopen(f"http://127.0.0.1:{c.port}/", timeout=5).read() == b"hello\n"
    # the client reaches web by service name and by alias on the project network
    assert c.ok("exec", "-T", "client", "wget", "-qO-", "http://web/") == "hello\n"
    assert c.ok("exec", "-T", "client", "wget", "-qO-", "http://www/") == "hello\n"
    # what Compose v2 labels and names
    info = json.loads(daemon.docker("inspect", f"{name}-web-1").stdout)[0]
    lbl = info["Config"]["Labels"]
    assert lbl["com.docker.compose.project"] == name and lbl["com.docker.compose.service"] == "web"
    assert lbl["com.docker.compose.container-number"] == "1" and lbl["com.docker.compose.oneoff"] == "False"
    assert lbl["com.docker.compose.project.working_dir"] == str(c.directory)
    assert set(info["NetworkSettings"]["Networks"]) == {f"{name}_back"}
    assert any(m["Name"] == f"{name}_data" for m in info["Mounts"])
    logs = c.ok("logs", "web")
    assert f"{name}-web-1  | web-up" in logs
    assert c.ok("config", "--services").split() == ["web", "client"]
    assert c.ok("ps", "--services").split() == ["client", "web"]
    assert c.ok("port", "web", "80").strip() == f"127.0.0.1:{c.port}"
    r = c("down", "-v")
    assert r.returncode == 0, r.stderr.decode()
    assert daemon.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={name}").stdout == b""
    assert name not in daemon.docker("network", "ls").stdout.decode()
    assert f"{name}_data" not in daemon.docker("volume", "ls").stdout.decode()


def test_up_converges_by_config_hash(project):
    c = project
    c.ok("up", "-d")
    before = _ids(c)
    r = c("up", "-d")
    assert r.returncode == 0 and _ids(c) == before  # nothing changed: nothing touched
    assert b"Running" in r.stderr and b"Recreate" not in r.stderr
    # web's config changes: web is recreated, and client with it (it depends on web)
    c.env["GREETING"] = "changed"
    c.ok("up", "-d")
    after = _ids(c)
    assert set(after) == set(before) and all(after[n] != before[n] for n in before)
    assert c.ok("exec", "-T", "client", "wget", "-qO-", "http://web/") == "changed\n"
    # --force-recreate recreates even unchanged services; --no-deps limits it to the one named
    c.ok("up", "-d", "--force-recreate", "--no-deps", "client")
    forced = _ids(c)
    name = c.directory.name
    assert forced[f"{name}-web-1"] == after[f"{name}-web-1"] and forced[f"{name}-client-1"] != after[f"{name}-client-1"]


def test_scale_run_and_lifecycle_verbs(project):
    c = project
    name = c.directory.name
    c.ok("up", "-d", "--scale", "client=3")
    clients = [row for row in c.ps_json() if row["Service"] == "client"]
    assert sorted(row["Name"] for row in clients) == [f"{name}-client-{n}" for n in (1, 2, 3)]
    assert c.ok("exec", "-T", "--index", "3", "client", "wget", "-qO-", "http://web/") == "hello\n"
    c.ok("up", "-d", "--scale", "client=1")
    assert [row["Name"] for row in c.ps_json() if row["Service"] == "client"] == [f"{name}-client-1"]
    # a one-off: its command, -e, no published ports, removed with --rm; its profile service runs when named
    r = c("run", "--rm", "-e", "X=42", "client", "sh", "-c", "echo $X; wget -qO- http://web/")
    assert r.returncode == 0 and r.stdout == b"42\nhello\n", r.stderr.decode()
    assert c("run", "--rm", "client", "sh", "-c", "exit 3").returncode == 3
    assert not [row for row in c.ps_json("-a") if "-run-" in row["Name"]]
    c.ok("run", "--rm", "once")
    assert c.ok("exec", "-T", "client", "cat", "/data/once") == "once\n"
    c.ok("stop", "client")
    assert {row["Service"]: row["State"] for row in c.ps_json("-a")}["client"] == "exited"
    c.ok("start", "client")
    c.ok("pause", "web")
    assert {row["Service"]: row["State"] for row in c.ps_json()}["web"] == "paused"
    c.ok("unpause", "web")
    c.ok("restart", "-t", "1", "client")
    assert "sleep" in c.ok("top", "client")
    c.ok("kill", "client")
    assert {row["Service"]: row["State"] for row in c.ps_json("-a")}["client"] == "exited"
    c.ok("rm", "-f", "client")
    assert "client" not in {row["Service"] for row in c.ps_json("-a")}


def test_attached_up_with_exit_code_from(daemon, tmp_path):
    d = project_dir(tmp_path, """
services:
  server:
    image: busybox
    command: sh -c 'echo ready > /w; exec httpd -f -p 80 -h /'
    stop_grace_period: 1s
  probe:
    image: busybox
    command: sh -c 'sleep 0.5; wget -qO- http://server/w && exit 7'
    depends_on: [server]
""")
    c = Compose(daemon.host, d, {})
    try:
        r = c("up", "--exit-code-from", "probe", timeout=60)
        out = r.stdout.decode()
        assert r.returncode == 7, (out, r.stderr.decode())
        assert re.search(rf"^{d.name}-probe-1 +\| ready$", out, re.M), out
        states = {row["Service"]: row["State"] for row in c.ps_json("-a")}
        assert states == {"server": "exited", "probe": "exited"}  # the others were stopped
    finally:
        c("down", "-t", "1")


def test_bad_input(daemon, tmp_path):
    d = project_dir(tmp_path, "services:\n  web:\n    image: busybox\n    prots: [80]\n")
    r = Compose(daemon.host, d, {})("up", "-d")
    assert r.returncode != 0 and b"compose.yaml" in r.stderr and b"'prots'" in r.stderr
    d = project_dir(tmp_path, "services:\n  web:\n    image: ${IMG:?IMG must be set}\n")
    r = Compose(daemon.host, d, {})("config")
    assert r.returncode != 0 and b"required variable IMG is missing a value: IMG must be set" in r.stderr
    # an image that does not exist: an error, nothing created beyond the network Compose makes first
    d = project_dir(tmp_path, "services:\n  web:\n    image: dytest-no-such-image:1\n")
    c = Compose(daemon.host, d, {})
    r = c("up", "-d")
    assert r.returncode != 0 and b"dytest-no-such-image" in r.stderr
    assert c.ps_json("-a") == []
    c.ok("down")
    # --wait on a service whose healthcheck fails: non-zero, naming the container
    d = project_dir(tmp_path, """
services:
  sick:
    image: busybox
    command: sleep 60
    stop_grace_period: 1s
    healthcheck: {test: ["CMD", "false"], interval: 1s, retries: 1}
""")
    c = Compose(daemon.host, d, {})
    try:
        r = c("up", "-d", "--wait", timeout=60)
        assert r.returncode != 0 and f"{d.name}-sick-1 is unhealthy".encode() in r.stderr
    finally:
        c("down", "-t", "1")


def test_views_ls_images_config_cp_events(project, tmp_path):
    import subprocess
    import sys
    import time

    c = project
    name = c.directory.name
    c.ok("up", "-d")
    assert [name, "running(2)", str(c.directory / "compose.yaml")] in [line.split() for line in c.ok("ls").splitlines()]
    assert {r["ContainerName"] for r in json.loads(c.ok("images", "--format", "json"))} == {
        f"{name}-web-1", f"{name}-client-1"}
    model = json.loads(c.ok("config", "--format", "json"))
    assert model["name"] == name and model["networks"]["back"]["name"] == f"{name}_back"
    assert model["services"]["web"]["ports"][0]["target"] == 80
    assert c.ok("config", "--volumes").split() == ["data"]
    assert c.ok("config", "--profiles").split() == ["tools"]
    (tmp_path / "in.txt").write_text("copied\n")
    c.ok("cp", str(tmp_path / "in.txt"), "web:/tmp/in.txt")
    assert c.ok("exec", "-T", "web", "cat", "/tmp/in.txt") == "copied\n"
    c.ok("cp", "web:/tmp/in.txt", str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "copied\n"
    events = subprocess.Popen([sys.executable, "-m", "dockyard.cli.main", "compose", "events", "--json"],
                              cwd=c.directory, env=c.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        c.ok("restart", "client")
        time.sleep(0.5)
    finally:
        events.kill()
    seen = [json.loads(line) for line in events.stdout.read().splitlines() if line.strip()]
    assert any(e["service"] == "client" and e["action"] == "restart" for e in seen), seen


def test_ctrl_c_during_attached_up_stops_the_project(project):
    import signal
    import subprocess
    import sys
    import time

    c = project
    p = subprocess.Popen([sys.executable, "-m", "dockyard.cli.main", "compose", "up"], cwd=c.directory, env=c.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while {r["State"] for r in c.ps_json()} != {"running"} or len(c.ps_json()) != 2:
            assert p.poll() is None and time.monotonic() < deadline, p.stderr.read() if p.poll() is not None else ""
            time.sleep(0.2)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130 and b"Gracefully stopping..." in err
    assert b"client-up" in out
    assert {r["State"] for r in c.ps_json("-a")} == {"exited"}  # stopped, still listed; down removes them


RICH = """
services:
  init:
    image: busybox
    command: sh -c 'echo seeded > /data/seed'
    volumes: [shared:/data]
  app:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 1; done'
    depends_on:
      init: {condition: service_completed_successfully}
    hostname: apphost
    user: "1000:1000"
    working_dir: /tmp
    read_only: true
    tmpfs: [/run/scratch]
    cap_drop: [ALL]
    extra_hosts: ["dyt-extra:10.1.2.3"]
    ulimits: {nofile: {soft: 512, hard: 512}}
    shm_size: 8m
    labels: {tier: backend}
    environment: [FROM_SHELL]
    secrets: [token]
    configs: [{source: settings, target: /etc/settings.conf}]
    volumes: [shared:/data:ro, external-one:/ext]
    networks:
      fixed: {ipv4_address: 10.253.77.10}
    stop_grace_period: 1s
networks:
  fixed:
    internal: true
    ipam: {config: [{subnet: 10.253.77.0/24}]}
volumes:
  shared: {}
  external-one: {external: true, name: "${EXTERNAL_VOLUME}"}
secrets:
  token: {file: ./token.txt}
configs:
  settings: {file: ./settings.conf}
"""


def test_service_keys_reach_the_container(daemon, tmp_path):
    d = project_dir(tmp_path, RICH)
    (d / "token.txt").write_text("s3cret\n")
    (d / "settings.conf").write_text("a=1\n")
    ext = f"dytest-ext-{d.name}"
    c = Compose(daemon.host, d, {"EXTERNAL_VOLUME": ext, "FROM_SHELL": "yes"})
    r = c("up", "-d")
    assert r.returncode != 0 and f'external volume "{ext}" not found'.encode() in r.stderr
    assert daemon.docker("volume", "create", ext).returncode == 0
    try:
        c.ok("up", "-d")
        sh = lambda cmd: c.ok("exec", "-T", "app", "sh", "-c", cmd)  # noqa: E731
        assert sh("id -u; id -g; pwd; hostname").split() == ["1000", "1000", "/tmp", "apphost"]
        assert sh("cat /data/seed /run/secrets/token /etc/settings.conf") == "seeded\ns3cret\na=1\n"
        assert sh("touch /x 2>/dev/null || echo ro; touch /run/scratch/ok && echo tmpfs-rw") == "ro\ntmpfs-rw\n"
        assert sh("ulimit -n; echo $FROM_SHELL; grep dyt-extra /etc/hosts | cut -f1") == "512\nyes\n10.1.2.3\n"
        assert "10.253.77.10" in sh("ip -4 addr show eth0")
        info = json.loads(daemon.docker("inspect", f"{d.name}-app-1").stdout)[0]
        assert info["HostConfig"]["CapDrop"] == ["ALL"] and info["HostConfig"]["ShmSize"] == 8 * 1024 * 1024
        assert info["Config"]["Labels"]["tier"] == "backend"
        net = json.loads(daemon.docker("network", "inspect", f"{d.name}_fixed").stdout)[0]
        assert net["Internal"] is True and net["IPAM"]["Config"][0]["Subnet"] == "10.253.77.0/24"
        assert {r["Service"]: r["State"] for r in c.ps_json("-a")} == {"init": "exited", "app": "running"}
        c.ok("down", "-v", "-t", "1")
        assert daemon.docker("volume", "inspect", ext).returncode == 0  # external: down -v leaves it
    finally:
        c("down", "-v", "-t", "1")
        daemon.docker("volume", "rm", "-f", ext)
