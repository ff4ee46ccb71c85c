"""Restart policies with Docker's back-off, RestartCount, stop respected, and coming back after a
daemon restart; health checks (containers/health.py): probes, start period, timeout, filter, events."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from dockyard.containers import restart as restartlib
from tests.support.daemon import _kill_cgroup_tree


def inspect(d, cid: str) -> dict:
    r = d.docker("inspect", cid)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)[0]


def wait_for(pred, timeout: float = 15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_backoff_doubles_and_resets():
    b = restartlib.Backoff()
    assert [b.next(0.5) for _ in range(4)] == [0.1, 0.2, 0.4, 0.8]
    assert b.next(11) == 0.1


def test_on_failure_with_a_maximum(daemon):
    cid = daemon.docker("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3"
                        ).stdout.decode().strip()
    try:
        info = wait_for(lambda: (i := inspect(daemon, cid))["RestartCount"] == 2 and
                        i["State"]["Status"] == "exited" and i)
        assert info["State"]["ExitCode"] == 3
        time.sleep(1)
        assert inspect(daemon, cid)["RestartCount"] == 2  # no third try
    finally:
        daemon.docker("rm", "-f", cid)


def test_on_failure_leaves_a_clean_exit_alone(daemon):
    cid = daemon.docker("run", "-d", "--restart", "on-failure", "busybox", "true").stdout.decode().strip()
    try:
        time.sleep(1)
        info = inspect(daemon, cid)
        assert info["RestartCount"] == 0 and info["State"]["Status"] == "exited"
    finally:
        daemon.docker("rm", "-f", cid)


def test_always_restarts_with_backoff_and_stop_is_respected(daemon):
    cid = daemon.docker("run", "-d", "--restart", "always", "busybox", "true").stdout.decode().strip()
    try:
        t0 = time.time()
        wait_for(lambda: inspect(daemon, cid)["RestartCount"] >= 4)
        # 0.1 + 0.2 + 0.4 s of back-off at least before the 4th start
        assert time.time() - t0 >= 0.6
        assert daemon.docker("stop", cid).returncode == 0
        count = inspect(daemon, cid)["RestartCount"]
        time.sleep(1.5)
        info = inspect(daemon, cid)
        assert info["State"]["Status"] == "exited" and info["RestartCount"] == count
    finally:
        daemon.docker("rm", "-f", cid)


def test_docker_py_restart_policy(daemon):
    c = daemon.client().containers.run("busybox", ["sh", "-c", "exit 1"], detach=True,
                                       restart_policy={"Name": "on-failure", "MaximumRetryCount": 1})
    try:
        wait_for(lambda: (c.reload() or c.attrs["RestartCount"] == 1 and c.status == "exited"))
    finally:
        c.remove(force=True)


def test_always_and_unless_stopped_come_back_after_a_daemon_restart(fresh_daemon):
    d = fresh_daemon
    always = d.docker("run", "-d", "--restart", "always", "busybox", "sleep", "1000").stdout.decode().strip()
    unless = d.docker("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "1000"
                      ).stdout.decode().strip()
    stopped = d.docker("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "1000"
                       ).stdout.decode().strip()
    assert d.docker("stop", "-t", "0", stopped).returncode == 0
    d.kill()
    # the supervisor (and the containers) outlive the daemon: end them as a host crash would
    supervisor = d.supervisor_pid()
    if supervisor:
        os.kill(supervisor, signal.SIGKILL)
    _kill_cgroup_tree(d.cgroup_parent)
    d.start()
    assert wait_for(lambda: inspect(d, always)["State"]["Running"], 20)
    assert wait_for(lambda: inspect(d, unless)["State"]["Running"], 20)
    assert inspect(d, stopped)["State"]["Running"] is False


def test_health_status_from_health_cmd(daemon):
    cid = daemon.docker("run", "-d", "--health-cmd", "true", "--health-interval", "1s", "busybox",
                        "sleep", "30").stdout.decode().strip()
    try:
        wait_for(lambda: (inspect(daemon, cid)["State"].get("Health") or {}).get("Status") == "healthy", 10)
    finally:
        daemon.docker("rm", "-f", cid)


def test_unhealthy_after_retries(daemon):
    cid = daemon.docker("run", "-d", "--health-cmd", "false", "--health-interval", "1s",
                        "--health-retries", "2", "busybox", "sleep", "30").stdout.decode().strip()
    try:
        wait_for(lambda: (inspect(daemon, cid)["State"].get("Health") or {}).get("Status") == "unhealthy", 10)
    finally:
        daemon.docker("rm", "-f", cid)


def health(d, cid: str) -> dict:
    return inspect(d, cid)["State"].get("Health") or {}


def run_d(d, *args: str) -> str:
    r = d.docker("run", "-d", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def test_health_log_ps_status_and_filter(daemon):
    cid = run_d(daemon, "--health-cmd", "echo probed", "--health-interval", "300ms", "busybox", "sleep", "30")
    other = run_d(daemon, "busybox", "sleep", "30")
    try:
        starting = health(daemon, cid)
        assert starting["Status"] in ("starting", "healthy")
        h = wait_for(lambda: (h := health(daemon, cid))["Status"] == "healthy" and h)
        assert h["FailingStreak"] == 0
        last = h["Log"][-1]
        assert last["ExitCode"] == 0 and last["Output"] == "probed\n" and last["Start"] and last["End"]
        time.sleep(2.5)  # more probes than the log keeps
        assert len(health(daemon, cid)["Log"]) == 5
        ps = daemon.docker("ps", "--filter", f"id={cid}", "--format", "{{.Status}}").stdout.decode()
        assert ps.startswith("Up ") and ps.strip().endswith("(healthy)"), ps
        ids = daemon.docker("ps", "-q", "--no-trunc", "--filter", "health=healthy").stdout.decode().split()
        assert cid in ids and other not in ids
        ids = daemon.docker("ps", "-q", "--no-trunc", "--filter", "health=none").stdout.decode().split()
        assert other in ids and cid not in ids
        r = daemon.docker("ps", "--filter", "health=sick")
        assert r.returncode != 0 and b"Unrecognised filter value for health: sick" in r.stderr
        assert inspect(daemon, cid)["ExecIDs"] is None  # probes are not the user's execs
        assert "Health" not in inspect(daemon, other)["State"]
    finally:
        daemon.docker("rm", "-f", cid, other)


def test_starting_shows_in_ps_and_start_period_failures_do_not_count(daemon):
    cid = run_d(daemon, "--health-cmd", "false", "--health-interval", "300ms", "--health-retries", "1",
                "--health-start-period", "3s", "busybox", "sleep", "30")
    try:
        wait_for(lambda: len(health(daemon, cid).get("Log") or []) >= 2)
        h = health(daemon, cid)
        assert h["Status"] == "starting" and h["FailingStreak"] == 0
        ps = daemon.docker("ps", "--filter", f"id={cid}", "--format", "{{.Status}}").stdout.decode()
        assert ps.strip().endswith("(health: starting)"), ps
        h = wait_for(lambda: (h := health(daemon, cid))["Status"] == "unhealthy" and h)
        assert h["FailingStreak"] >= 1 and h["Log"][-1]["ExitCode"] == 1
        ps = daemon.docker("ps", "--filter", f"id={cid}", "--format", "{{.Status}}").stdout.decode()
        assert ps.strip().endswith("(unhealthy)"), ps
    finally:
        daemon.docker("rm", "-f", cid)


def test_probe_timeout_is_killed_and_reported(daemon):
    cid = run_d(daemon, "--health-cmd", "sleep 20", "--health-interval", "500ms", "--health-timeout", "1s",
                "--health-retries", "1", "busybox", "sleep", "30")
    try:
        h = wait_for(lambda: (h := health(daemon, cid))["Status"] == "unhealthy" and h, 15)
        assert h["Log"][-1]["ExitCode"] == -1
        assert h["Log"][-1]["Output"] == "Health check exceeded timeout (1s)"
        top = daemon.docker("top", cid).stdout.decode()
        assert top.count("sleep 20") <= 1, top  # killed probes do not pile up
    finally:
        daemon.docker("rm", "-f", cid)


def test_image_healthcheck_and_no_healthcheck(daemon):
    src = run_d(daemon, "busybox", "true")
    image = "dytest-health-image:1"
    try:
        daemon.docker("wait", src)
        r = daemon.docker("commit", "--change", "HEALTHCHECK --interval=300ms --retries=2 CMD true",
                          "--change", "CMD sleep 30", src, image)
        assert r.returncode == 0, r.stderr
        img = json.loads(daemon.docker("image", "inspect", image).stdout)[0]
        assert img["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 300_000_000,
                                                "Retries": 2}
        cid = run_d(daemon, image)
        try:
            wait_for(lambda: health(daemon, cid).get("Status") == "healthy")
        finally:
            daemon.docker("rm", "-f", cid)
        # the request's fields win, the image's fill the rest (Docker's merge)
        cid = run_d(daemon, "--health-cmd", "false", image)
        try:
            hc = inspect(daemon, cid)["Config"]["Healthcheck"]
            assert hc["Test"] == ["CMD-SHELL", "false"] and hc["Interval"] == 300_000_000
            wait_for(lambda: health(daemon, cid).get("Status") == "unhealthy")
        finally:
            daemon.docker("rm", "-f", cid)
        cid = run_d(daemon, "--no-healthcheck", image)
        try:
            info = inspect(daemon, cid)
            assert info["Config"]["Healthcheck"]["Test"] == ["NONE"]
            time.sleep(1)
            assert "Health" not in inspect(daemon, cid)["State"]
        finally:
            daemon.docker("rm", "-f", cid)
    finally:
        daemon.docker("rm", "-f", src)
        daemon.docker("rmi", "-f", image)


def test_docker_py_health_and_events(daemon):
    client = daemon.client()
    since = int(time.time()) - 1
    c = client.containers.run("busybox", ["sleep", "30"], detach=True,
                              healthcheck={"test": ["CMD", "true"], "interval": 300_000_000})
    try:
        wait_for(lambda: c.reload() or (c.attrs["State"].get("Health") or {}).get("Status") == "healthy")
        assert c.attrs["State"]["Health"]["Log"][-1]["ExitCode"] == 0
        events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                               filters={"container": c.id, "event": "health_status"})
        actions = [e["Action"] for e in events]
        assert actions == ["health_status: healthy"], actions
    finally:
        c.remove(force=True)


def test_bad_healthcheck_settings_are_refused(daemon):
    import docker.errors

    with pytest.raises(docker.errors.APIError) as err:
        daemon.client().api.create_container("busybox", ["true"],
                                             healthcheck={"test": ["CMD", "true"], "interval": 5})
    assert err.value.status_code == 400
    assert "Interval in Healthcheck cannot be less than 1ms" in str(err.value)


def test_health_is_re_armed_after_a_daemon_restart(fresh_daemon):
    d = fresh_daemon
    cid = run_d(d, "--health-cmd", "true", "--health-interval", "300ms", "busybox", "sleep", "1000")
    wait_for(lambda: health(d, cid).get("Status") == "healthy")
    d.kill()
    d.start()
    count = len(health(d, cid)["Log"])
    first_end = health(d, cid)["Log"][-1]["End"]
    wait_for(lambda: health(d, cid)["Log"][-1]["End"] != first_end)
    assert health(d, cid)["Status"] == "healthy" and count >= 1
    d.docker("rm", "-f", cid)
