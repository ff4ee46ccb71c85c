"""Live restore: containers outlive a killed daemon, and state survives a clean restart."""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e

LOOP = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done"


def uname(prefix: str = "rs") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout.decode()


def inspect(d, ref: str) -> dict:
    return json.loads(ok(d.docker("inspect", "--type", "container", ref)))[0]


def read_lines(proc: subprocess.Popen, count: int, timeout: float) -> list[str]:
    """`count` lines from proc.stdout, or fewer if `timeout` passes first."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf, lines = b"", []
    deadline = time.time() + timeout
    try:
        while len(lines) < count and time.time() < deadline:
            if not sel.select(max(0.0, deadline - time.time())):
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\n")
            lines += [x.decode() for x in done]
    finally:
        sel.close()
    return lines


def wait_for(pred, timeout: float, step: float = 0.1) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_container_survives_daemon_kill_and_logs_follow(fresh_daemon):
    d = fresh_daemon
    n = uname()
    try:
        cid = ok(d.docker("run", "-d", "--name", n, "busybox", "sh", "-c", LOOP)).strip()
        info = inspect(d, cid)
        assert info["State"]["Running"] is True
        pid = info["State"]["Pid"]
        assert pid > 0 and os.path.exists(f"/proc/{pid}")

        d.kill()  # SIGKILL the daemon only
        time.sleep(0.5)
        assert os.path.exists(f"/proc/{pid}"), "the container died with the daemon"
        assert d.supervisor_pid() is None or os.path.exists(f"/proc/{d.supervisor_pid()}")
        logged_before = (d.data_root / "containers" / cid).exists()
        assert logged_before

        d.start()
        assert os.path.exists(f"/proc/{pid}")
        ps = ok(d.docker("ps", "--no-trunc", "--format", "{{.ID}} {{.Status}}"))
        assert any(line.startswith(cid + " Up") for line in ps.splitlines()), ps
        info = inspect(d, cid)
        assert info["State"]["Running"] is True and info["State"]["Pid"] == pid

        # logs written while the daemon was down are there, and -f follows new lines
        follower = subprocess.Popen(["docker", "logs", "-f", "--tail", "1", cid], env=d.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            lines = read_lines(follower, 5, timeout=15)
        finally:
            follower.kill()
            follower.wait(10)
        assert len(lines) == 5, lines
        nums = [int(line.split()[1]) for line in lines]
        assert all(line.startswith("line ") for line in lines), lines
        assert nums == list(range(nums[0], nums[0] + 5)), nums

        # kill → wait → exit code recorded
        ok(d.docker("kill", cid))
        assert ok(d.docker("wait", cid)).strip() == "137"
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 5), "the container's process is left"
    finally:
        d.docker("rm", "-f", n)


def test_exit_while_daemon_down_is_recorded(fresh_daemon):
    d = fresh_daemon
    n = uname()
    try:
        cid = ok(d.docker("run", "-d", "--name", n, "busybox", "sh", "-c", "sleep 2; exit 5")).strip()
        assert inspect(d, cid)["State"]["Running"] is True
        d.kill()
        time.sleep(3)
        d.start()
        state = inspect(d, cid)["State"]
        assert state["Status"] == "exited", state
        assert state["ExitCode"] == 5, state
        assert state["Running"] is False
        assert state["FinishedAt"] != "0001-01-01T00:00:00Z"
        # the rootfs of the exited container is no longer mounted
        rootfs = str(d.data_root / "containers" / cid / "rootfs")
        with open("/proc/self/mountinfo") as f:
            assert not [line for line in f if line.split()[4] == rootfs]
        assert ok(d.docker("wait", cid)).strip() == "5"
        ok(d.docker("rm", cid))
    finally:
        d.docker("rm", "-f", n)


def test_exit_while_daemon_down_wakes_no_waiter_twice(fresh_daemon):
    """A container that exits while the daemon is down can be started again after the restart."""
    d = fresh_daemon
    n = uname()
    try:
        cid = ok(d.docker("run", "-d", "--name", n, "busybox", "sh", "-c", "sleep 1; exit 3")).strip()
        d.kill()
        time.sleep(2)
        d.start()
        assert inspect(d, cid)["State"]["ExitCode"] == 3
        ok(d.docker("start", cid))
        assert ok(d.docker("wait", cid)).strip() == "3"
    finally:
        d.docker("rm", "-f", n)


def test_state_survives_clean_restart(fresh_daemon):
    d = fresh_daemon
    created, exited, tag = uname("created"), uname("exited"), uname("tag")
    try:
        image_id = inspect_image(d, "busybox:latest")["Id"]
        ok(d.docker("tag", "busybox:latest", f"{tag}:v1"))
        c1 = ok(d.docker("create", "--name", created, "busybox", "true")).strip()
        p = d.docker("run", "--name", exited, "busybox", "sh", "-c", "echo bye; exit 4")
        assert p.returncode == 4 and p.stdout == b"bye\n", p
        c2 = inspect(d, exited)["Id"]
        images_before = ok(d.docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))

        d.kill(signal.SIGTERM)
        assert d.proc.returncode == 0, d.log_path.read_text()[-2000:]
        assert not os.path.exists(d.socket), "the socket is removed on a clean shutdown"
        d.start()

        assert inspect_image(d, "busybox:latest")["Id"] == image_id
        assert inspect_image(d, f"{tag}:v1")["Id"] == image_id
        images_after = ok(d.docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"))
        assert sorted(images_after.splitlines()) == sorted(images_before.splitlines())

        s1 = inspect(d, created)
        assert s1["Id"] == c1 and s1["State"]["Status"] == "created" and s1["Name"] == "/" + created
        s2 = inspect(d, exited)
        assert s2["Id"] == c2 and s2["State"]["Status"] == "exited" and s2["State"]["ExitCode"] == 4
        assert ok(d.docker("logs", exited)) == "bye\n"
        listed = ok(d.docker("ps", "-a", "--no-trunc", "--format", "{{.ID}}")).split()
        assert c1 in listed and c2 in listed

        p = d.docker("run", "--rm", "busybox", "echo", "hi")
        assert (p.returncode, p.stdout) == (0, b"hi\n"), p
        # the created container starts after the restart
        ok(d.docker("start", created))
        assert ok(d.docker("wait", created)).strip() == "0"
    finally:
        d.docker("rm", "-f", created, exited)
        d.docker("rmi", f"{tag}:v1")


def inspect_image(d, ref: str) -> dict:
    return json.loads(ok(d.docker("image", "inspect", ref)))[0]


def test_autoremove_container_exiting_while_daemon_down_is_removed(fresh_daemon):
    d = fresh_daemon
    n = uname()
    try:
        cid = ok(d.docker("run", "-d", "--rm", "--name", n, "busybox", "sh", "-c", "sleep 1; exit 2")).strip()
        d.kill()
        time.sleep(2)
        d.start()
        assert wait_for(lambda: d.docker("inspect", cid).returncode != 0, 10), "--rm container left behind"
        assert not (d.data_root / "containers" / cid).exists()
        rootfs = str(d.data_root / "containers" / cid / "rootfs")
        with open("/proc/self/mountinfo") as f:
            assert not [line for line in f if line.split()[4] == rootfs]
    finally:
        d.docker("rm", "-f", n)


def test_stop_after_restart_reaches_the_restored_container(fresh_daemon):
    d = fresh_daemon
    n = uname()
    try:
        cid = ok(d.docker("run", "-d", "--name", n, "busybox", "sleep", "600")).strip()
        pid = inspect(d, cid)["State"]["Pid"]
        d.kill()
        d.start()
        d.kill()  # twice: the second daemon instance must have found the supervisor's record too
        d.start()
        t0 = time.time()
        ok(d.docker("stop", "-t", "1", cid))
        assert time.time() - t0 < 15
        state = inspect(d, cid)["State"]
        assert state["Status"] == "exited" and state["ExitCode"] == 137, state
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 5)
        cg = [p for p in __import__("pathlib").Path("/sys/fs/cgroup").glob(f"*/{d.cgroup_parent}/{cid}")]
        assert wait_for(lambda: not any(p.exists() for p in cg), 5), cg
    finally:
        d.docker("rm", "-f", n)


def _rootfs_mounted(d, cid: str) -> bool:
    rootfs = str(d.data_root / "containers" / cid / "rootfs")
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == rootfs for line in f)


def test_autoremove_container_that_is_down_at_restart_is_removed(fresh_daemon):
    """As Docker's restore: a --rm container that is not running when the daemon comes back
    (its exit recorded, or never started) is removed, not left for ever."""
    d = fresh_daemon
    cid = ok(d.docker("create", "--rm", "--name", uname(), "busybox", "true")).strip()
    kept = ok(d.docker("create", "--name", uname(), "busybox", "true")).strip()
    d.kill()
    d.start()
    assert wait_for(lambda: d.docker("inspect", cid).returncode != 0, 10), "--rm container left behind"
    assert not (d.data_root / "containers" / cid).exists()
    assert inspect(d, kept)["State"]["Status"] == "created"  # without --rm it stays
    ok(d.docker("rm", kept))


def test_start_cut_short_by_a_daemon_crash_leaves_nothing_mounted(fresh_daemon):
    """The daemon dies in the middle of a start (rootfs mounted, runtime not done): the restored
    container reads "created", has nothing mounted and no bundle, and starts normally later."""
    d = fresh_daemon
    cid = ok(d.docker("create", "--name", uname(), "busybox", "echo", "hello")).strip()
    sup = d.supervisor_pid()
    os.kill(sup, signal.SIGSTOP)  # the start hangs in its call to the supervisor
    start = subprocess.Popen(["docker", "start", cid], env=d.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _rootfs_mounted(d, cid), 20), "the start never mounted the rootfs"
        d.kill()
    finally:
        os.kill(sup, signal.SIGCONT)
        start.wait(30)
    d.start()
    state = inspect(d, cid)["State"]
    assert state["Status"] == "created", state
    assert not _rootfs_mounted(d, cid)
    assert not (d.exec_root / "bundles" / cid).exists()
    assert ok(d.docker("start", "-a", cid)) == "hello\n"
    assert inspect(d, cid)["State"]["ExitCode"] == 0
    ok(d.docker("rm", cid))
    assert d.leftovers(set()) == ([], [])
