"""A supervisor killed with SIGKILL loses no container, no log line and no exit code (its keeper
holds the stdio and reaps the orphans; the next supervisor adopts them), on each runtime."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from tests.support.daemon import wait_until

pytestmark = pytest.mark.e2e

# prints 0, 1, 2, ... every 50 ms; `docker stop` (SIGTERM) makes it exit 7
COUNTER = 'i=0; trap "exit 7" TERM; while true; do echo $i; i=$((i+1)); usleep 50000; done'


def _runtimes() -> list[str]:
    return ["builtin"] + [r for r in ("runc",) if shutil.which(r)]


def _counter_lines(d, cid: str) -> list[int]:
    out = d.docker("logs", cid).stdout.decode()
    return [int(x) for x in out.replace("\r", "").split()]


def _inspect(d, cid: str) -> dict:
    return json.loads(d.docker("inspect", cid).stdout)[0]["State"]


def _new_supervisor(d, old: int) -> int:
    return wait_until(lambda: d.supervisor_pid() not in (None, old) and d.supervisor_pid(),
                     "the keeper to start a new supervisor")


def test_killed_supervisor_loses_no_container_log_line_or_exit_code(fresh_daemon):
    d = fresh_daemon
    started = {}
    for rt in _runtimes():
        started[rt] = d.docker("run", "-d", "--runtime", rt, "busybox", "sh", "-c", COUNTER,
                               check=True).stdout.decode().strip()
    started["tty"] = d.docker("run", "-d", "-t", "busybox", "sh", "-c", COUNTER,
                              check=True).stdout.decode().strip()
    pids = {k: _inspect(d, cid)["Pid"] for k, cid in started.items()}
    for cid in started.values():
        wait_until(lambda: len(_counter_lines(d, cid)) >= 5, "output before the kill")
    follow = subprocess.Popen(["docker", "logs", "-f", started["builtin"]], env=d.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        old = d.supervisor_pid()
        before = {k: len(_counter_lines(d, cid)) for k, cid in started.items()}
        os.kill(old, signal.SIGKILL)
        _new_supervisor(d, old)
        for k, cid in started.items():
            state = _inspect(d, cid)
            assert state["Running"] is True and state["Pid"] == pids[k], (k, state)
            # still counting into the log after the new supervisor took over
            wait_until(lambda: len(_counter_lines(d, cid)) >= before[k] + 20, f"{k} output after the kill")
        for k, cid in started.items():
            assert d.docker("stop", cid).returncode == 0
            assert _inspect(d, cid)["ExitCode"] == 7, k  # the real code, not 255
            lines = _counter_lines(d, cid)
            assert lines == list(range(len(lines))), f"{k}: a gap or a repeat in the log"
            assert len(lines) >= before[k] + 20
        out, _ = follow.communicate(timeout=30)  # `logs -f` went on and ended with the container
        followed = [int(x) for x in out.decode().split()]
        assert followed == list(range(len(followed))) and followed == _counter_lines(d, started["builtin"])
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()


def test_exit_while_no_supervisor_runs_keeps_its_code_and_last_words(fresh_daemon):
    """The container ends while its supervisor is dead and the keeper is held still: the keeper
    reaps it, and the next supervisor records the real code and logs what was left in the pipe."""
    d = fresh_daemon
    gate = tempfile.mkdtemp(prefix="dytest-gate-")
    try:
        cids = {rt: d.docker("run", "-d", "--runtime", rt, "-v", f"{gate}:/gate", "busybox", "sh", "-c",
                             f"echo up; while [ ! -e /gate/go ]; do usleep 20000; done; echo bye-{rt}; exit 9",
                             check=True).stdout.decode().strip() for rt in _runtimes()}
        for cid in cids.values():
            wait_until(lambda: b"up" in d.docker("logs", cid).stdout, "the container to start")
        keeper, old = d.keeper_pid(), d.supervisor_pid()
        assert keeper and old
        os.kill(keeper, signal.SIGSTOP)  # no new supervisor, no reaping, until we say so
        try:
            os.kill(old, signal.SIGKILL)
            open(os.path.join(gate, "go"), "w").close()
            # the inits end (zombies of the stopped keeper) while nobody runs to record it
            for cid in cids.values():
                pid = _inspect(d, cid)["Pid"]
                wait_until(lambda: open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z",
                          "the container to end")
        finally:
            os.kill(keeper, signal.SIGCONT)
        for rt, cid in cids.items():
            wait_until(lambda: _inspect(d, cid)["Status"] == "exited", f"{rt}: the exit to be recorded")
            assert _inspect(d, cid)["ExitCode"] == 9, rt
            assert d.docker("logs", cid).stdout.decode().split() == ["up", f"bye-{rt}"]
            assert d.docker("rm", cid).returncode == 0
        assert d.leftovers(set()) == ([], [])
    finally:
        shutil.rmtree(gate, ignore_errors=True)


def test_idle_supervisor_and_keeper_leave_with_their_daemon(fresh_daemon):
    d = fresh_daemon
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0
    keeper, sup = d.keeper_pid(), d.supervisor_pid()
    assert keeper and sup
    d.kill(signal.SIGTERM)
    for pid in (sup, keeper):
        wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
                  open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z",
                  f"process {pid} to leave")
    d.start()  # and a new daemon gets a new pair
    assert d.docker("run", "--rm", "busybox", "echo", "again").stdout == b"again\n"
    assert d.supervisor_pid() not in (None, sup)


def test_supervisor_with_containers_stays_when_its_daemon_stops(fresh_daemon):
    d = fresh_daemon
    cid = d.docker("run", "-d", "busybox", "sleep", "60", check=True).stdout.decode().strip()
    sup = d.supervisor_pid()
    d.kill(signal.SIGTERM)
    time.sleep(1.5)  # longer than the idle grace: an idle supervisor would be gone by now
    assert d.supervisor_pid() == sup
    d.start()
    assert _inspect(d, cid)["Running"] is True
    assert d.docker("rm", "-f", cid).returncode == 0


def test_detached_exec_survives_a_supervisor_crash_with_its_exit_code(fresh_daemon):
    d = fresh_daemon
    gate = tempfile.mkdtemp(prefix="dytest-gate-")
    try:
        cid = d.docker("run", "-d", "-v", f"{gate}:/gate", "busybox", "sleep", "600",
                       check=True).stdout.decode().strip()
        api = d.client().api
        ex = api.exec_create(cid, ["sh", "-c", "while [ ! -e /gate/go ]; do echo tick; usleep 20000; done; exit 5"])
        api.exec_start(ex["Id"], detach=True)
        wait_until(lambda: api.exec_inspect(ex["Id"])["Running"], "the exec to run")
        old = d.supervisor_pid()
        os.kill(old, signal.SIGKILL)
        _new_supervisor(d, old)
        open(os.path.join(gate, "go"), "w").close()
        info = wait_until(lambda: (lambda i: not i["Running"] and i)(api.exec_inspect(ex["Id"])),
                          "the exec to end")
        assert info["ExitCode"] == 5
        assert _inspect(d, cid)["Running"] is True
        assert d.docker("rm", "-f", cid).returncode == 0
    finally:
        shutil.rmtree(gate, ignore_errors=True)
