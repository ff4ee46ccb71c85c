"""The supervisor and its client, on the real kernel: logs, attach, tty, exits, OOM, surviving its client."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import time

import pytest

from dockyard import errors
from dockyard.runtime.supervisor_client import SupervisorClient
from tests.support.daemon import live_supervisor_pid

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]




def arun(coro):
    return asyncio.run(coro)


async def collect(stream):
    out = []
    while (item := await stream.read()) is not None:
        out.append(item)
    return out


def test_output_log_and_exit(exec_root, bundle, cid, tmp_path):
    b = bundle(["sh", "-c", "echo out; echo err >&2; printf partial; exit 3"])
    log_path = str(tmp_path / "c.log")

    async def go():
        c = await SupervisorClient.connect(exec_root)
        pid = await c.create(cid, b, log_path)
        assert pid > 0
        assert (await c.list())[0]["status"] == "created"
        a = await c.attach(cid, False, True, True)  # before start: must see everything
        b2 = await c.attach(cid, False, True, False)
        await c.start(cid)
        got, got2 = await asyncio.gather(collect(a), collect(b2))
        rec = await c.wait_exit(cid)
        await c.close()
        return got, got2, rec

    got, got2, rec = arun(go())
    assert b"".join(d for s, d in got if s == 1) == b"out\npartial"
    assert b"".join(d for s, d in got if s == 2) == b"err\n"
    assert all(s == 1 for s, _ in got2)
    assert rec["exit_code"] == 3 and rec["status"] == "exited" and not rec["oom_killed"]
    assert rec["started_at"].endswith("Z") and rec["finished_at"] >= rec["started_at"]
    entries = [json.loads(line) for line in open(log_path)]
    assert [(e["log"], e["stream"]) for e in entries if e["stream"] == "stdout"] == [("out\n", "stdout"),
                                                                                    ("partial", "stdout")]
    assert ("err\n", "stderr") in [(e["log"], e["stream"]) for e in entries]
    assert json.load(open(os.path.join(exec_root, "containers", cid, "exit.json")))["exit_code"] == 3


def test_exec_not_found(exec_root, bundle, cid, tmp_path):
    async def go():
        c = await SupervisorClient.connect(exec_root)
        try:
            with pytest.raises(errors.ExecNotFound) as e:
                await c.create(cid, bundle(["nosuch"]), str(tmp_path / "c.log"))
            assert await c.list() == []
            return e.value
        finally:
            await c.close()
    err = arun(go())
    assert 'exec: "nosuch": executable file not found in $PATH' in err.message
    assert getattr(err, "exit_code") == 127


def test_stdin_and_kill(exec_root, bundle, cid, tmp_path):
    async def go():
        c = await SupervisorClient.connect(exec_root)
        await c.create(cid, bundle(["cat"]), str(tmp_path / "c.log"), open_stdin=True)
        with pytest.raises(errors.Conflict):
            await c.kill(cid, signal.SIGTERM)  # created, not running
        a = await c.attach(cid, True, True, True)
        await c.start(cid)
        await a.write(b"ping\n")
        assert await a.read() == (1, b"ping\n")
        await a.close_stdin()
        assert await a.read() is None
        rec = await c.wait_exit(cid)
        assert rec["exit_code"] == 0
        await c.delete(cid)
        with pytest.raises(errors.NotFound):
            await c.kill(cid, 9)
        await c.create(cid, bundle(["sleep", "60"]), str(tmp_path / "d.log"))
        await c.start(cid)
        await c.kill(cid, signal.SIGKILL)
        rec = await c.wait_exit(cid)
        await c.delete(cid)
        await c.close()
        return rec
    assert arun(go())["exit_code"] == 137


@pytest.mark.parametrize("runtime", ["builtin", "runc", "dockyard-runtime"])
def test_tty_mode(exec_root, bundle, cid, tmp_path, runtime):
    if runtime != "builtin" and not shutil.which(runtime):
        pytest.skip(f"{runtime} is not installed")
    async def go():
        c = await SupervisorClient.connect(exec_root)
        # The pty lives in the container's own devpts: `tty` names /dev/pts/0, not a host pts.
        await c.create(cid, bundle(["sh", "-c", "sleep 0.2; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; tty; "
                                    "stty size; echo x >&2"],
                                   terminal=True), str(tmp_path / "c.log"), tty=True, open_stdin=True,
                       runtime=runtime)
        a = await c.attach(cid, True, True, True)
        await c.start(cid)
        await c.resize(cid, 30, 100)
        got = await collect(a)
        rec = await c.wait_exit(cid)
        await c.close()
        return got, rec
    got, rec = arun(go())
    assert {s for s, _ in got} == {1}
    text = b"".join(d for _, d in got)
    assert b"is-a-tty\r\n" in text and b"30 100\r\n" in text and b"x\r\n" in text
    assert b"/dev/pts/0\r\n" in text, text
    assert rec["exit_code"] == 0


def test_oom_killed(exec_root, bundle, cid, tmp_path):
    async def go():
        c = await SupervisorClient.connect(exec_root)
        await c.create(cid, bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], memory=16 << 20),
                       str(tmp_path / "c.log"))
        await c.start(cid)
        rec = await c.wait_exit(cid)
        await c.delete(cid)
        await c.close()
        return rec
    rec = arun(go())
    assert rec["exit_code"] == 137 and rec["oom_killed"] is True


def test_survives_client_disconnect(exec_root, bundle, cid, tmp_path):
    log_path = str(tmp_path / "c.log")

    async def first():
        c = await SupervisorClient.connect(exec_root)
        await c.create(cid, bundle(["sh", "-c", "sleep 0.5; echo done; exit 5"]), log_path)
        await c.start(cid)
        await c.close()  # the daemon goes away

    async def second():
        c = await SupervisorClient.connect(exec_root)  # must find the same supervisor, not spawn one
        lst = await c.list()
        await c.delete(cid)
        await c.close()
        return lst

    arun(first())
    pid = int(open(os.path.join(exec_root, "supervisor.lock")).read())
    time.sleep(1.0)
    lst = arun(second())
    assert int(open(os.path.join(exec_root, "supervisor.lock")).read()) == pid
    assert lst[0]["id"] == cid and lst[0]["status"] == "exited" and lst[0]["exit_code"] == 5
    assert json.loads(open(log_path).read())["log"] == "done\n"


def test_exit_records_survive_supervisor_restart(exec_root, bundle, cid, tmp_path):
    async def run_one():
        c = await SupervisorClient.connect(exec_root)
        await c.create(cid, bundle(["sh", "-c", "exit 4"]), str(tmp_path / "c.log"))
        await c.start(cid)
        await c.wait_exit(cid)
        await c.close()

    async def after():
        c = await SupervisorClient.connect(exec_root)
        lst = await c.list()
        rec = await c.wait_exit(cid)
        await c.delete(cid)
        await c.close()
        return lst, rec

    arun(run_one())
    pid = live_supervisor_pid(exec_root)
    assert pid
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
            time.sleep(0.02)
        except ProcessLookupError:
            break
    lst, rec = arun(after())
    assert lst[0]["exit_code"] == 4 and rec["status"] == "exited"


def test_runc_driver(exec_root, bundle, cid, tmp_path):
    async def go():
        c = await SupervisorClient.connect(exec_root)
        await c.create(cid, bundle(["sh", "-c", "echo via-runc; exit 2"]), str(tmp_path / "c.log"), runtime="runc")
        a = await c.attach(cid, False, True, True)
        await c.start(cid)
        got = await collect(a)
        rec = await c.wait_exit(cid)
        with pytest.raises(errors.ExecNotFound):
            await c.create(cid + "x", bundle(["nosuch"]), str(tmp_path / "d.log"), runtime="runc")
        await c.delete(cid)
        await c.close()
        return got, rec
    got, rec = arun(go())
    assert got == [(1, b"via-runc\n")] and rec["exit_code"] == 2
