"""Races and failures found in review: concurrent streams, removal during waits, a dying supervisor."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.rawhttp import call

pytestmark = pytest.mark.e2e


def _create(d, cmd: list[str], **extra) -> str:
    import json

    status, body, _ = call(d, "POST", f"/v1.41/containers/create?name=rb-{uuid.uuid4().hex[:8]}",
                           {"Image": "busybox", "Cmd": cmd, **extra})
    assert status == 201, body
    return json.loads(body)["Id"]


def test_parallel_saves_do_not_wedge_the_daemon(daemon):
    """More concurrent saves than worker threads: every one finishes, other requests still run."""
    def save(_: int) -> int:
        status, body, _h = call(daemon, "GET", "/v1.41/images/busybox/get", timeout=60)
        assert status == 200
        return len(body)

    with ThreadPoolExecutor(12) as pool:
        sizes = list(pool.map(save, range(12)))
    assert len(set(sizes)) == 1 and sizes[0] > 1_000_000
    status, _, _ = call(daemon, "GET", "/v1.41/images/json", timeout=10)
    assert status == 200


def test_wait_on_created_container_returns_when_it_is_removed(daemon):
    cid = _create(daemon, ["true"])
    result: dict = {}

    def wait() -> None:
        result["r"] = call(daemon, "POST", f"/v1.41/containers/{cid}/wait?condition=next-exit", timeout=20)

    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.3)
    assert call(daemon, "DELETE", f"/v1.41/containers/{cid}")[0] == 204
    t.join(10)
    assert not t.is_alive(), "the wait did not end when its container was removed"
    assert result["r"][0] == 200


def test_attach_to_created_container_ends_when_it_is_removed(daemon):
    cid = _create(daemon, ["true"])
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(daemon.socket)
    try:
        s.sendall(f"POST /v1.41/containers/{cid}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                  "Host: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 101")
        assert call(daemon, "DELETE", f"/v1.41/containers/{cid}")[0] == 204
        assert s.recv(4096) == b""  # EOF: the session ended instead of hanging
    finally:
        s.close()


def test_plain_rm_racing_start_never_destroys_a_running_container(daemon):
    for _ in range(6):
        cid = _create(daemon, ["sleep", "30"])
        with ThreadPoolExecutor(2) as pool:
            started = pool.submit(call, daemon, "POST", f"/v1.41/containers/{cid}/start")
            time.sleep(0.005)
            removed = pool.submit(call, daemon, "DELETE", f"/v1.41/containers/{cid}")
            start_status, rm_status = started.result()[0], removed.result()[0]
        if rm_status == 409:  # it was running: Docker's answer; now clean up for real
            assert start_status == 204
            assert call(daemon, "DELETE", f"/v1.41/containers/{cid}?force=1")[0] == 204
        else:
            assert rm_status == 204
            assert call(daemon, "GET", f"/v1.41/containers/{cid}/json")[0] == 404
    mounts, cgroups = daemon.leftovers(set())
    assert (mounts, cgroups) == ([], [])


def test_a_dying_supervisor_is_replaced_and_its_containers_live_on(fresh_daemon):
    """`docker run --rm` survives the death of the supervisor: the next one adopts the container,
    its real exit code reaches the client and --rm still removes it."""
    d = fresh_daemon
    gate = tempfile.mkdtemp(prefix="dytest-gate-")
    run = subprocess.Popen(["docker", "run", "--rm", "-v", f"{gate}:/gate", "busybox", "sh", "-c",
                            "while [ ! -e /gate/go ]; do usleep 20000; done; exit 3"], env=d.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not d.docker("ps", "-q").stdout.strip():
            time.sleep(0.1)
        old = d.supervisor_pid()
        assert old
        os.kill(old, signal.SIGKILL)
        while time.time() < deadline and d.supervisor_pid() in (None, old):
            time.sleep(0.05)
        assert d.supervisor_pid() not in (None, old)
        open(os.path.join(gate, "go"), "w").close()
        assert run.wait(20) == 3  # the real code, not 255
    finally:
        if run.poll() is None:
            run.kill()
        shutil.rmtree(gate, ignore_errors=True)
    assert d.docker("ps", "-aq").stdout.strip() == b""  # --rm still removed it
    assert d.leftovers(set()) == ([], [])  # nothing orphaned: cgroup emptied, rootfs unmounted
    r = d.docker("run", "--rm", "busybox", "echo", "after")
    assert (r.returncode, r.stdout) == (0, b"after\n")


def test_container_outliving_its_supervisor_is_adopted_and_cleaned_up(fresh_daemon):
    """Daemon and supervisor both die; the container lives on. The next supervisor adopts it
    and `rm -f` still ends it and frees its cgroup and mounts."""
    d = fresh_daemon
    cid = d.docker("run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
    pid = int(d.docker("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    d.kill()
    old = d.supervisor_pid()
    assert old
    os.kill(old, signal.SIGKILL)
    d.start()
    assert json.loads(d.docker("inspect", "-f", "{{json .State.Running}}", cid).stdout) is True
    assert d.docker("rm", "-f", cid).returncode == 0
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}")
    assert d.leftovers(set()) == ([], [])
