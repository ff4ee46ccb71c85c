"""stats, diff (changes), pause/unpause, update and --runtime through the docker CLI, docker-py and dockyard."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.support.rawhttp import call, message


@pytest.fixture()
def busy(daemon):
    name = "ops-target"
    daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c", "while true; do sleep 0.05; done", check=True)
    yield name
    daemon.docker("rm", "-f", name)
    mounts, cgroups = daemon.leftovers(set())
    assert not mounts and not cgroups


def test_stats_shape(daemon, busy):
    s = daemon.client().api.stats(busy, stream=False)
    assert s["name"] == "/" + busy and s["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert s["precpu_stats"]["cpu_usage"]["total_usage"] > 0 and s["cpu_stats"]["online_cpus"] >= 1
    assert s["memory_stats"]["usage"] > 0 and s["memory_stats"]["limit"] > 0
    assert s["pids_stats"]["current"] >= 1
    st, body, _ = call(daemon, "GET", f"/containers/{busy}/stats?stream=false&one-shot=true")
    assert st == 200 and json.loads(body)["id"]
    r = daemon.docker("stats", "--no-stream", busy)
    assert r.returncode == 0 and busy in r.stdout.decode()
    r = daemon.dockyard("stats", "--no-stream", busy)
    assert r.returncode == 0 and busy in r.stdout.decode() and "%" in r.stdout.decode()
    stream = daemon.client().api.stats(busy, stream=True, decode=True)
    first, second = next(stream), next(stream)
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]


def test_diff(daemon, busy):
    daemon.docker("exec", busy, "sh", "-c", "touch /new; rm /bin/vi; echo x >> /etc/passwd", check=True)
    out = daemon.docker("diff", busy).stdout.decode().splitlines()
    assert "A /new" in out and "D /bin/vi" in out and "C /etc/passwd" in out
    assert not any("hostname" in line or "resolv.conf" in line for line in out), out
    assert daemon.dockyard("diff", busy).stdout.decode().splitlines() == out
    changes = daemon.client().api.diff(busy)
    assert {"Path": "/new", "Kind": 1} in changes


def test_pause_unpause(daemon, busy):
    for client in (daemon.docker, daemon.dockyard):
        assert client("pause", busy).returncode == 0
        info = daemon.client().api.inspect_container(busy)
        assert info["State"]["Status"] == "paused" and info["State"]["Paused"]
        st, body, _ = call(daemon, "POST", f"/containers/{busy}/pause")
        assert st == 409 and "already paused" in message(body)
        r = daemon.docker("exec", busy, "true")
        assert r.returncode != 0 and b"paused" in r.stderr
        assert client("unpause", busy).returncode == 0
        assert daemon.client().api.inspect_container(busy)["State"]["Status"] == "running"
    st, body, _ = call(daemon, "POST", f"/containers/{busy}/unpause")
    assert st == 409
    daemon.docker("pause", busy, check=True)
    r = daemon.docker("stop", "-t", "1", busy)       # a paused container still stops
    assert r.returncode == 0
    assert daemon.client().api.inspect_container(busy)["State"]["Status"] == "exited"


def test_update(daemon, busy):
    r = daemon.docker("update", "-m", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--pids-limit", "40", busy)
    assert r.returncode == 0, r
    host = daemon.client().api.inspect_container(busy)["HostConfig"]
    assert host["Memory"] == 64 << 20 and host["NanoCpus"] == 500_000_000 and host["PidsLimit"] == 40
    s = daemon.client().api.stats(busy, stream=False, one_shot=True)
    assert s["memory_stats"]["limit"] == 64 << 20 and s["pids_stats"]["limit"] == 40
    assert daemon.dockyard("update", "--pids-limit", "30", busy).returncode == 0
    assert daemon.client().api.stats(busy, stream=False, one_shot=True)["pids_stats"]["limit"] == 30
    for body in ({"Memory": 1024}, {"Memory": -5}, {"NanoCpus": 1, "CpuQuota": 1000}, {"BlkioWeight": 5},
                 {"CpuPeriod": 10}, {"Memory": "lots"}):
        st, resp, _ = call(daemon, "POST", f"/containers/{busy}/update", body)
        assert st == 400, (body, resp)
    st, _, _ = call(daemon, "POST", "/containers/nosuch/update", {"Memory": 1 << 30})
    assert st == 404


@pytest.mark.parametrize("runtime", ["builtin", "runc"])
def test_runtimes(daemon, runtime):
    if runtime != "builtin" and not shutil.which(runtime):
        pytest.skip(f"{runtime} is not installed")
    r = daemon.docker("run", "--rm", "--runtime", runtime, "busybox", "sh", "-c", "echo on-$((1+1))")
    assert r.returncode == 0 and r.stdout == b"on-2\n"
    name = f"rt-{runtime}"
    daemon.docker("run", "-d", "--runtime", runtime, "--name", name, "busybox", "sleep", "30", check=True)
    try:
        assert daemon.docker("exec", name, "echo", "x").stdout == b"x\n"
        assert daemon.client().api.inspect_container(name)["HostConfig"]["Runtime"] == runtime
        assert daemon.docker("pause", name).returncode == 0 and daemon.docker("unpause", name).returncode == 0
    finally:
        daemon.docker("rm", "-f", name)
    info = daemon.client().info()
    assert runtime in info["Runtimes"]


def test_runtime_bad_input(daemon):
    r = daemon.docker("run", "--rm", "--runtime", "nosuch", "busybox", "true")
    assert r.returncode == 125 and b"Unknown runtime specified nosuch" in r.stderr
    if shutil.which("crun"):
        from dockyard.runtime.catalog import hybrid_with_v2_controllers
        r = daemon.docker("run", "--rm", "--runtime", "crun", "busybox", "echo", "crun")
        if hybrid_with_v2_controllers():
            assert r.returncode == 125 and b"hybrid" in r.stderr
        else:
            assert r.returncode == 0 and r.stdout == b"crun\n"
