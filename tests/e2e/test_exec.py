"""exec through the real docker CLI, docker-py and raw HTTP: options, exit codes, inspect, bad input."""
from __future__ import annotations

import json

import pytest

from tests.support.rawhttp import call, message


@pytest.fixture()
def running(daemon):
    name = "exec-target"
    daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c", "echo hi > /tmp/mark; sleep 300",
                  check=True)
    yield name
    daemon.docker("rm", "-f", name)
    mounts, cgroups = daemon.leftovers(set())
    assert not mounts and not cgroups


def test_docker_cli_exec_options(daemon, running):
    r = daemon.docker("exec", "-e", "A=b", "-w", "/tmp", "-u", "nobody", running, "sh", "-c",
                      "echo $A; pwd; id -u; cat /tmp/mark; ls /proc | grep -c '^[0-9]'; exit 4")
    out = r.stdout.decode().split()
    assert r.returncode == 4 and out[:4] == ["b", "/tmp", "65534", "hi"] and int(out[4]) < 10, r
    r = daemon.docker("exec", "-i", running, "cat", input=b"through stdin\n")
    assert r.returncode == 0 and r.stdout == b"through stdin\n"
    r = daemon.docker("exec", running, "sh", "-c", "grep CapEff /proc/self/status")
    plain = int(r.stdout.split()[1], 16)
    r = daemon.docker("exec", "--privileged", running, "sh", "-c", "grep CapEff /proc/self/status")
    assert int(r.stdout.split()[1], 16) > plain
    r = daemon.docker("exec", running, "nosuch")
    assert r.returncode == 127 and b"executable file not found" in r.stdout + r.stderr
    r = daemon.docker("exec", "-d", running, "sh", "-c", "echo detached > /tmp/d")
    assert r.returncode == 0
    ids = json.loads(daemon.docker("inspect", running).stdout)[0]["ExecIDs"]
    assert len(ids) >= 5


def test_docker_py_exec_and_inspect(daemon, running):
    c = daemon.client()
    ctr = c.containers.get(running)
    assert ctr.exec_run("sh -c 'echo py; exit 2'") == (2, b"py\n")
    assert ctr.exec_run("tty", tty=True).output == b"/dev/pts/0\r\n"
    api = c.api
    e = api.exec_create(running, ["sh", "-c", "sleep 0.3; exit 6"])
    api.exec_start(e["Id"], detach=True)
    info = api.exec_inspect(e["Id"])
    assert info["Running"] and info["Pid"] > 0 and info["ProcessConfig"]["entrypoint"] == "sh"
    import time
    time.sleep(1)
    info = api.exec_inspect(e["Id"])
    assert not info["Running"] and info["ExitCode"] == 6


def test_exec_bad_input(daemon, running):
    st, body, _ = call(daemon, "POST", "/containers/nosuch/exec", {"Cmd": ["true"]})
    assert st == 404 and "No such container" in message(body)
    st, body, _ = call(daemon, "POST", f"/containers/{running}/exec", {"Cmd": []})
    assert st == 400
    st, body, _ = call(daemon, "POST", f"/containers/{running}/exec", {"Cmd": ["true"], "WorkingDir": "rel"})
    assert st == 400
    st, body, _ = call(daemon, "POST", f"/containers/{running}/exec", {"Cmd": ["true"], "DetachKeys": "ctrl-1"})
    assert st == 400 and "Invalid detach keys" in message(body)
    st, body, _ = call(daemon, "GET", "/exec/nosuch/json")
    assert st == 404 and "No such exec instance" in message(body)
    st, body, _ = call(daemon, "POST", "/exec/nosuch/resize?h=10&w=10")
    assert st == 404
    st, body, _ = call(daemon, "POST", f"/containers/{running}/exec", {"Cmd": ["true"]})
    eid = json.loads(body)["Id"]
    st, body, _ = call(daemon, "POST", f"/exec/{eid}/resize?h=10&w=10")
    assert st == 400  # no TTY
    st, body, _ = call(daemon, "POST", f"/exec/{eid}/start", {"Detach": True})
    assert st == 200
    st, body, _ = call(daemon, "POST", f"/exec/{eid}/start", {"Detach": True})
    assert st == 409
    # a stopped container: 409, for create and for start of an exec created before the stop
    st, body, _ = call(daemon, "POST", f"/containers/{running}/exec", {"Cmd": ["true"]})
    eid = json.loads(body)["Id"]
    daemon.docker("stop", "-t", "0", running, check=True)
    st, body, _ = call(daemon, "POST", f"/containers/{running}/exec", {"Cmd": ["true"]})
    assert st == 409 and "is not running" in message(body)
    st, body, _ = call(daemon, "POST", f"/exec/{eid}/start", {"Detach": True})
    assert st == 409
    r = daemon.docker("exec", running, "true")
    assert r.returncode != 0 and b"is not running" in r.stderr
    # resize of a container without a TTY
    st, body, _ = call(daemon, "POST", f"/containers/{running}/resize?h=10&w=10")
    assert st == 409


def test_dockyard_cli_exec(daemon, running):
    r = daemon.dockyard("exec", "-e", "X=1", "-w", "/tmp", running, "sh", "-c", "echo $X; pwd; exit 3")
    assert r.returncode == 3 and r.stdout == b"1\n/tmp\n", r
    r = daemon.dockyard("exec", "-i", running, "cat", input=b"abc")
    assert r.returncode == 0 and r.stdout == b"abc"
    r = daemon.dockyard("exec", "-d", running, "true")
    assert r.returncode == 0
    r = daemon.dockyard("exec", running, "nosuch")
    assert r.returncode == 127
