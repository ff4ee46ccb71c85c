"""exec through the supervisor on the real kernel: namespaces and cgroup joined, stdio, tty, exit codes, per runtime."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from dockyard import errors
from dockyard.runtime.supervisor_client import SupervisorClient

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]
RUNTIMES = ["builtin", "runc", "dockyard-runtime"]




def _process(args, tty=False, env=None, cwd="/", uid=0):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]
    return {"args": args, "env": env or ["PATH=/bin"], "cwd": cwd, "terminal": tty,
            "user": {"uid": uid, "gid": uid}, "capabilities": {"bounding": caps, "effective": caps,
                                                                "permitted": caps}}


async def _collect(stream):
    out = []
    while (item := await stream.read()) is not None:
        out.append(item)
    return out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_joins_container(exec_root, bundle, cid, tmp_path, runtime):
    if runtime != "builtin" and not shutil.which(runtime):
        pytest.skip(f"{runtime} is not installed")

    async def go():
        c = await SupervisorClient.connect(exec_root)
        await c.create(cid, bundle(["sh", "-c", "echo inside > /tmp/mark; hostname; sleep 30"]),
                       str(tmp_path / "c.log"), runtime=runtime)
        await c.start(cid)
        await asyncio.sleep(0.3)
        s = await c.exec_attached(cid, "e1", _process(
            ["sh", "-c", "cat /tmp/mark; hostname; echo $FOO; pwd; id -u; ls /proc | grep -c '^[0-9]'; "
                         "cat /proc/self/cgroup | grep -c " + cid + "; exit 3"],
            env=["PATH=/bin", "FOO=bar"], cwd="/tmp", uid=65534), False, False, True, True)
        out = await _collect(s)
        rec = await c.exec_wait("e1")
        # a tty exec: the pty is the container's
        t = await c.exec_attached(cid, "e2", _process(["sh", "-c", "tty; stty size"], tty=True),
                                  True, True, True, True)
        await c.exec_resize("e2", 20, 70)
        tout = await _collect(t)
        trec = await c.exec_wait("e2")
        with pytest.raises(errors.ExecNotFound) as nf:
            await c.exec_attached(cid, "e3", _process(["nosuch"]), False, False, True, True)
        await c.kill(cid, 9)
        await c.wait_exit(cid)
        with pytest.raises(errors.Conflict):
            await c.exec_attached(cid, "e4", _process(["true"]), False, False, True, True)
        await c.delete(cid)
        await c.close()
        return out, rec, tout, trec, nf.value
    out, rec, tout, trec, nf = asyncio.run(go())
    text = b"".join(d for _, d in out).decode()
    lines = text.split()
    assert lines[0] == "inside" and lines[1] == "dytest" and lines[2:5] == ["bar", "/tmp", "65534"], text
    assert int(lines[5]) < 10 and int(lines[6]) >= 1, text   # its pid namespace, its cgroup
    assert rec["exit_code"] == 3
    ttext = b"".join(d for _, d in tout)
    assert trec["exit_code"] == 0 and b"/dev/pts/" in ttext, ttext
    assert getattr(nf, "exit_code", None) == 127 and "executable file not found" in nf.message
