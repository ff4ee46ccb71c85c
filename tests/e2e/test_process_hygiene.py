"""Process hygiene (issue 14): once its daemon is gone, no engine process that holds no container
stays behind (supervisor, keeper, port proxies, helpers), whether the daemon stopped or was killed."""
from __future__ import annotations

import os
import signal

from tests.support.daemon import wait_until


def _engine_processes(base: str) -> list[tuple[int, str]]:
    """Live processes whose command line names the daemon's private roots (zombies excluded)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if base in cmd and state != "Z":
            found.append((int(pid), cmd))
    return found


def _exercise(d) -> None:
    assert d.docker("run", "--rm", "busybox", "true").returncode == 0
    cid = d.docker("run", "-d", "-p", "127.0.0.1::80", "busybox", "sleep", "60", check=True).stdout.decode().strip()
    assert d.docker("exec", cid, "true").returncode == 0
    assert d.docker("rm", "-f", cid).returncode == 0


def test_nothing_of_the_engine_outlives_a_stopped_daemon(fresh_daemon):
    d = fresh_daemon
    _exercise(d)
    assert d.supervisor_pid()
    d.kill(signal.SIGTERM)
    wait_until(lambda: not _engine_processes(str(d.base)), "every engine process to leave")


def test_an_idle_supervisor_leaves_when_its_daemon_is_killed(fresh_daemon):
    d = fresh_daemon
    _exercise(d)
    keeper, sup = d.keeper_pid(), d.supervisor_pid()
    assert keeper and sup
    d.kill(signal.SIGKILL)  # a crash: no shutdown message reaches the supervisor
    wait_until(lambda: not _engine_processes(str(d.base)), "every engine process to leave")
    d.start()
    assert d.docker("run", "--rm", "busybox", "echo", "again").stdout == b"again\n"
