"""Interactive sessions through a real terminal (pexpect): `run -it`, resize, detach keys, attach, sig-proxy."""
from __future__ import annotations

import sys
import time

import pytest

from tests.support.daemon import REPO

pexpect = pytest.importorskip("pexpect")

CLIENTS = ["docker", "dockyard"]


def _spawn(daemon, client: str, args: list[str], rows: int = 24, cols: int = 80):
    cmd, argv = ("docker", args) if client == "docker" else (sys.executable, ["-m", "dockyard.cli.main", *args])
    return pexpect.spawn(cmd, argv, env=daemon.env, cwd=str(REPO), dimensions=(rows, cols), timeout=20)


def _gone(daemon, name: str) -> None:
    daemon.docker("rm", "-f", name)


@pytest.mark.parametrize("client", CLIENTS)
def test_run_it_has_a_real_tty(daemon, client):
    name = f"tty-{client}"
    p = _spawn(daemon, client, ["run", "-it", "--rm", "--name", name, "busybox", "sh"], rows=33, cols=101)
    try:
        p.expect(r"[#$] ")
        p.sendline("tty; stty size; echo done-$((6*7))")
        p.expect("/dev/pts/0")       # a pty of the container's own devpts, not "not a tty"
        p.expect("33 101")
        p.expect("done-42")
        p.setwinsize(40, 120)        # SIGWINCH -> POST /containers/{id}/resize
        time.sleep(0.5)
        p.sendline("stty size")
        p.expect("40 120")
        p.sendline("exit 3")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 3
    finally:
        p.close(force=True)
        _gone(daemon, name)


@pytest.mark.parametrize("client", CLIENTS)
def test_detach_keys_and_attach(daemon, client):
    name = f"detach-{client}"
    p = _spawn(daemon, client, ["run", "-it", "--name", name, "busybox", "sh"])
    try:
        p.expect(r"[#$] ")
        p.sendline("echo before")
        p.expect("before")
        p.send("\x10\x11")            # ctrl-p ctrl-q: detach, the container keeps running
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 0
        info = daemon.client().api.inspect_container(name)
        assert info["State"]["Running"]
        # attach again, with our own detach keys
        a = _spawn(daemon, client, ["attach", "--detach-keys", "ctrl-a,x", name])
        a.sendline("echo again-$((2+3))")
        a.expect("again-5")
        a.send("\x01x")
        a.expect(pexpect.EOF)
        a.close()
        # docker attach reports the detach as "read escape sequence", status 1 (docker run -it: 0)
        assert a.exitstatus == 1 and b"read escape sequence" in a.before, a.before
        assert daemon.client().api.inspect_container(name)["State"]["Running"]
        a = _spawn(daemon, client, ["attach", name])
        a.sendline("exit 7")
        a.expect(pexpect.EOF)
        a.close()
        assert a.exitstatus == 7
    finally:
        p.close(force=True)
        _gone(daemon, name)


@pytest.mark.parametrize("client", CLIENTS)
def test_exec_it(daemon, client):
    name = f"exec-it-{client}"
    daemon.docker("run", "-d", "--name", name, "busybox", "sleep", "60", check=True)
    p = _spawn(daemon, client, ["exec", "-it", name, "sh"], rows=21, cols=77)
    try:
        p.expect(r"[#$] ")
        p.sendline("tty; stty size; echo $TERM")
        p.expect("/dev/pts/")
        p.expect("21 77")
        p.expect("xterm")
        p.setwinsize(30, 90)         # POST /exec/{id}/resize
        time.sleep(0.5)
        p.sendline("stty size")
        p.expect("30 90")
        p.sendline("exit 5")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 5
    finally:
        p.close(force=True)
        _gone(daemon, name)


@pytest.mark.parametrize("client", CLIENTS)
def test_sig_proxy(daemon, client):
    """Without a TTY, SIGINT to the client is forwarded to the container (unless --sig-proxy=false)."""
    name = f"sigproxy-{client}"
    p = _spawn(daemon, client, ["run", "--name", name, "busybox", "sh", "-c",
                                "trap 'echo got-int; exit 9' INT; echo ready; while true; do sleep 0.1; done"])
    try:
        p.expect("ready")
        p.kill(2)
        p.expect("got-int")
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 9
    finally:
        p.close(force=True)
        _gone(daemon, name)
