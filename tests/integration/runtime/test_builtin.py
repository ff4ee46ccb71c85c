"""The built-in runtime as a library, on the real kernel."""
from __future__ import annotations

import glob
import os
import signal
import subprocess
import time

import pytest

from dockyard import errors
from dockyard.runtime import builtin

pytestmark = [pytest.mark.root, pytest.mark.timeout(60)]


def run(b, cid, state_root, start=True):
    """create + start + collect output + reap + delete; returns (exit code, stdout, stderr)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = builtin.create(cid, b, state_root, (None, out_w, err_w))
    finally:
        os.close(out_w)
        os.close(err_w)
    assert builtin.state(cid, state_root)["status"] == "created"
    builtin.start(cid, state_root)
    out = b"".join(iter(lambda: os.read(out_r, 65536), b""))
    err = b"".join(iter(lambda: os.read(err_r, 65536), b""))
    os.close(out_r)
    os.close(err_r)
    _, status = os.waitpid(pid, 0)
    assert builtin.state(cid, state_root)["status"] == "stopped"
    code = os.waitstatus_to_exitcode(status)
    builtin.delete(cid, state_root)
    return (128 - code if code < 0 else code), out.decode(), err.decode()


def cgroup_dirs(cid):
    return glob.glob(f"/sys/fs/cgroup/*/dytest/{cid}") + glob.glob(f"/sys/fs/cgroup/dytest/{cid}")


def test_echo_and_exit_code(bundle, cid, state_root):
    b = bundle(["sh", "-c", "echo hello; echo oops >&2; exit 7"])
    assert run(b, cid, state_root) == (7, "hello\n", "oops\n")
    assert not os.path.exists(os.path.join(state_root, cid))
    assert cgroup_dirs(cid) == []


def test_exec_not_found_leaves_nothing(bundle, cid, state_root):
    b = bundle(["nosuch"])
    zombies_before = set(zombie_children())  # other tests' unreaped children are not ours to judge
    with pytest.raises(errors.RuntimeCreateError) as e:
        builtin.create(cid, b, state_root, (None, 1, 2))
    assert e.value.exit_code == 127
    assert e.value.message == 'exec: "nosuch": executable file not found in $PATH'
    assert not os.path.exists(os.path.join(state_root, cid))
    assert cgroup_dirs(cid) == []
    assert set(zombie_children()) - zombies_before == set()  # the failed init was reaped


def zombie_children() -> list[int]:
    """Our exited-but-unreaped children (other tests may leave live children: only zombies count)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(int(entry))
    return found


def test_not_executable_is_126(bundle, cid, state_root):
    with pytest.raises(errors.RuntimeCreateError) as e:
        builtin.create(cid, bundle(["/etc/passwd"]), state_root, (None, 1, 2))
    assert e.value.exit_code == 126
    assert "permission denied" in e.value.message


def test_namespaces_proc_sys_dev(bundle, cid, state_root):
    script = ("echo pid=$$; hostname; ls /proc/self/status >/dev/null && echo proc-ok; "
              "touch /sys/x 2>/dev/null || echo sys-ro; ls /dev; ls -l /dev/ptmx; "
              "echo x > /dev/null && head -c 4 /dev/zero | wc -c; cat /proc/self/status | grep CapEff; "
              "ip link 2>/dev/null | grep -c UP || cat /sys/class/net/lo/operstate; id -u; ulimit -n; pwd")
    code, out, err = run(bundle(["sh", "-c", script], hostname="dytest-host", nofile=1048576), cid, state_root)
    assert code == 0, err
    lines = out.splitlines()
    assert "pid=1" in lines
    assert "dytest-host" in lines
    assert "proc-ok" in lines and "sys-ro" in lines
    for node in ("null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "fd",
                 "stdin", "stdout", "stderr", "ptmx"):
        assert node in lines, node
    assert any("/dev/ptmx -> pts/ptmx" in line for line in lines)
    assert "4" in lines
    assert "CapEff:\t00000000a80425fb" in lines  # Docker's default set
    # RLIMIT_NOFILE 1048576 is above our hard limit (no CAP_SYS_RESOURCE here): clamped, not an error
    assert str(min(1048576, __import__("resource").getrlimit(7)[1])) in lines


def test_user_and_cwd(bundle, cid, state_root, tmp_path):
    import json
    b = bundle(["sh", "-c", "id; pwd; cat /proc/self/status | grep CapEff"])
    cfg = json.load(open(os.path.join(b, "config.json")))
    cfg["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [5]}
    cfg["process"]["cwd"] = "/work/dir"
    json.dump(cfg, open(os.path.join(b, "config.json"), "w"))
    code, out, err = run(b, cid, state_root)
    assert code == 0, err
    assert "uid=65534(nobody) gid=65534(nogroup)" in out and "5" in out
    assert "/work/dir" in out
    assert "CapEff:\t0000000000000000" in out  # non-root: effective caps are empty, like runc


def test_memory_limit_oom(bundle, cid, state_root):
    b = bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], memory=16 << 20)
    out_r, out_w = os.pipe()
    pid = builtin.create(cid, b, state_root, (None, out_w, out_w))
    os.close(out_w)
    builtin.start(cid, state_root)
    _, status = os.waitpid(pid, 0)
    os.close(out_r)
    from dockyard.cgroups import open_cgroup
    assert open_cgroup(f"/dytest/{cid}").oom_killed()
    assert 128 - os.waitstatus_to_exitcode(status) == 137
    builtin.delete(cid, state_root)


def test_pids_limit(bundle, cid, state_root):
    script = "n=0; for i in 1 2 3 4 5 6 7 8; do sleep 5 & n=$((n+1)); done; echo started"
    code, out, err = run(bundle(["sh", "-c", script], pids=4), cid, state_root)
    print(code, out, err)
    assert "can't fork" in err or "Resource temporarily unavailable" in err


def test_kill_and_state(bundle, cid, state_root):
    b = bundle(["sleep", "60"])
    pid = builtin.create(cid, b, state_root, (None, 1, 2))
    st = builtin.state(cid, state_root)
    assert st["status"] == "created" and st["pid"] == pid and st["id"] == cid
    builtin.start(cid, state_root)
    assert builtin.state(cid, state_root)["status"] == "running"
    with pytest.raises(errors.RuntimeFailure):
        builtin.delete(cid, state_root)  # running and no force
    builtin.kill(cid, state_root, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == -9
    assert builtin.state(cid, state_root)["status"] == "stopped"
    with pytest.raises(errors.ContainerNotRunning):
        builtin.kill(cid, state_root, signal.SIGTERM)
    builtin.delete(cid, state_root)
    with pytest.raises(errors.ContainerNotFound):
        builtin.state(cid, state_root)


def test_force_delete_created(bundle, cid, state_root):
    pid = builtin.create(cid, bundle(["true"]), state_root, (None, 1, 2))
    builtin.delete(cid, state_root, force=True)
    os.waitpid(pid, 0)
    assert cgroup_dirs(cid) == []


SCRIPT = ("echo $$; hostname; id; grep -E 'Cap(Eff|Bnd|Prm)' /proc/self/status; ls /dev; "
          "touch /sys/x 2>/dev/null || echo sys-ro; cat /proc/sys/kernel/hostname; ulimit -n; "
          "echo x > /proc/sys/kernel/hostname 2>/dev/null || echo procsys-ro; cat /proc/kcore 2>&1 | wc -c")


def test_same_output_as_runc(bundle, cid, state_root, tmp_path):
    b = bundle(["sh", "-c", SCRIPT])
    ours = run(b, cid, state_root)
    p = subprocess.run(["runc", "--root", str(tmp_path / "runc"), "run", "--bundle", b, cid],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == ours


def test_cli_matches_runc(bundle, cid, tmp_path):
    import sys
    b = bundle(["sh", "-c", SCRIPT + "; exit 3"])
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))
    mine = subprocess.run([sys.executable, "-m", "dockyard.runtime.cli", "--root", str(tmp_path / "dy"), "run",
                           "--bundle", b, cid], capture_output=True, text=True, env=env, timeout=30,
                          stdin=subprocess.DEVNULL)
    theirs = subprocess.run(["runc", "--root", str(tmp_path / "runc"), "run", "--bundle", b, cid],
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (mine.returncode, mine.stdout) == (theirs.returncode, theirs.stdout) == (3, mine.stdout)
