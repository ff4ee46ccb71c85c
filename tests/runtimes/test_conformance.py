"""The runtime conformance suite: core container behaviours, through the docker CLI, on each usable runtime.

The daemon writes the same config.json whichever runtime runs it; these tests prove the
built-in runtime and runc (and any other installed runc-compatible one) agree.
"""
from __future__ import annotations

import json
import uuid

import pytest

from dockyard.runtime import catalog
from tests.support.daemon import private_daemon

pytestmark = pytest.mark.e2e


def _runtimes() -> list[str]:
    # every runtime the daemon's catalog offers that can run containers on this host
    return catalog.usable()


@pytest.fixture(scope="module", params=_runtimes())
def rt_daemon(request):
    with private_daemon(request.param) as d:
        yield d


def run(d, *args: str) -> tuple[int, str, str]:
    r = d.docker("run", "--rm", *args)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_output_exit_code_and_streams(rt_daemon):
    assert run(rt_daemon, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3") == (3, "out\n", "err\n")


def test_missing_command_is_127_without_leftovers(rt_daemon):
    code, _, err = run(rt_daemon, "busybox", "no-such-command")
    assert code == 127 and "executable file not found" in err
    assert rt_daemon.leftovers(set()) == ([], [])


def test_isolation_basics(rt_daemon):
    code, out, _ = run(rt_daemon, "--network", "none", "-u", "nobody", "busybox", "sh", "-c",
                       "cat /proc/1/cmdline; echo; id -u; ls /sys/class/net; grep Seccomp: /proc/self/status")
    assert code == 0
    cmdline, uid, *rest = out.splitlines()
    assert cmdline.startswith("sh") and uid == "65534"
    assert rest[:-1] == ["lo"] and rest[-1].split() == ["Seccomp:", "2"]


def test_memory_limit_oom(rt_daemon):
    name = f"oom-{uuid.uuid4().hex[:6]}"
    try:
        r = rt_daemon.docker("run", "--name", name, "--memory", "16m", "busybox", "dd",
                             "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
        assert r.returncode == 137
        state = json.loads(rt_daemon.docker("inspect", "-f", "{{json .State}}", name).stdout)
        assert state["OOMKilled"] is True
    finally:
        rt_daemon.docker("rm", "-f", name)


def test_stop_exec_and_logs(rt_daemon):
    name = f"life-{uuid.uuid4().hex[:6]}"
    try:
        assert rt_daemon.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                                "trap 'exit 0' TERM; echo started; while true; do sleep 0.1; done"
                                ).returncode == 0
        assert rt_daemon.docker("exec", name, "hostname").stdout.decode().strip() == \
            rt_daemon.docker("inspect", "-f", "{{.Id}}", name).stdout.decode()[:12]
        assert rt_daemon.docker("stop", name).returncode == 0
        assert rt_daemon.docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip() == b"0"
        assert rt_daemon.docker("logs", name).stdout == b"started\n"
    finally:
        rt_daemon.docker("rm", "-f", name)
    assert rt_daemon.leftovers(set()) == ([], [])
