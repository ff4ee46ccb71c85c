"""The real `docker` CLI (it negotiates API 1.41) against dockyardd: run, lifecycle, images, isolation.

Every container is named uniquely and removed in `finally`; the last test checks that nothing the
module made is left mounted under the data root or in the daemon's cgroup parent.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")]

BUSYBOX_FOREVER = ("sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.1; done')


def uname(prefix: str = "dk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout.decode()


@contextmanager
def removing(daemon, *names: str):
    """Remove the named containers however the test ends."""
    try:
        yield
    finally:
        for n in names:
            daemon.docker("rm", "-f", n, timeout=60)


def inspect(daemon, obj: str) -> dict:
    return json.loads(ok(daemon.docker("inspect", obj)))[0]


def wait_for(cond, timeout: float = 10, step: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {cond}")


def import_fresh(daemon, tmp_path: Path, ref: str, *extra: str) -> str:
    """A new image of our own (never remove the shared busybox:latest)."""
    from tests.support.daemon import busybox_rootfs_tar

    tar = tmp_path / f"rootfs-{uuid.uuid4().hex[:6]}.tar"
    tar.write_bytes(busybox_rootfs_tar())
    image_id = ok(daemon.docker("import", *extra, str(tar), ref)).strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", image_id)
    return image_id


# docker run ------------------------------------------------------------------------------

def test_run_rm_echo(daemon):
    p = daemon.docker("run", "--rm", "busybox", "echo", "hi")
    assert (p.returncode, p.stdout) == (0, b"hi\n"), p.stderr


def test_run_output_of_quick_containers_is_never_lost(daemon):
    """Regression: a hijacked attach session was garbage-collected mid-stream after the client
    half-closed (asyncio holds tasks weakly), so now and then `docker run` printed nothing."""
    outs = [daemon.docker("run", "--rm", "busybox", "echo", f"hi{i}") for i in range(40)]
    assert [(p.returncode, p.stdout) for p in outs] == [(0, b"hi%d\n" % i) for i in range(40)]


def test_run_exit_code_and_streams(daemon):
    n = uname()
    with removing(daemon, n):
        p = daemon.docker("run", "--name", n, "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
        assert (p.returncode, p.stdout, p.stderr) == (3, b"out\n", b"err\n")
        state = inspect(daemon, n)["State"]
        assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 3, False)


def test_run_rm_really_removes(daemon):
    n = uname()
    with removing(daemon, n):
        assert daemon.docker("run", "--rm", "--name", n, "busybox", "true").returncode == 0
        assert ok(daemon.docker("ps", "-a", "-q", "--filter", f"name={n}")) == ""
        p = daemon.docker("inspect", n)
        assert p.returncode == 1 and f"No such object: {n}" in p.stderr.decode()


def test_run_missing_executable(daemon):
    n = uname()
    with removing(daemon, n):
        p = daemon.docker("run", "--rm", "--name", n, "busybox", "nosuch")
        assert p.returncode == 127, p.stderr
        assert "executable file not found" in p.stderr.decode()
        # the daemon removes an --rm container whose start failed
        wait_for(lambda: ok(daemon.docker("ps", "-a", "-q", "--filter", f"name={n}")) == "")


def test_run_stdin(daemon):
    p = daemon.docker("run", "-i", "--rm", "busybox", "sh", "-c", "tr a-z A-Z; echo end",
                      input=b"hello\nworld\n")
    assert (p.returncode, p.stdout) == (0, b"HELLO\nWORLD\nend\n"), p.stderr


def test_run_options(daemon):
    n = uname()
    with removing(daemon, n):
        p = daemon.docker("run", "--name", n, "-e", "FOO=bar baz", "-w", "/tmp", "-u", "nobody",
                          "-h", "myhost", "--entrypoint", "sh", "busybox",
                          "-c", 'echo "$FOO"; pwd; id -u; hostname')
        assert (p.returncode, p.stdout.decode()) == (0, "bar baz\n/tmp\n65534\nmyhost\n"), p.stderr
        info = inspect(daemon, n)
        assert info["Name"] == f"/{n}"
        assert info["Config"]["Entrypoint"] == ["sh"]
        assert info["Config"]["User"] == "nobody" and info["Config"]["WorkingDir"] == "/tmp"
        assert "FOO=bar baz" in info["Config"]["Env"]
        # the name is taken now
        p = daemon.docker("run", "--name", n, "busybox", "true")
        assert p.returncode == 125 and "is already in use" in p.stderr.decode()


def test_run_entrypoint_replaces_image_entrypoint(daemon):
    p = daemon.docker("run", "--rm", "--entrypoint", "echo", "busybox", "a", "b")
    assert (p.returncode, p.stdout) == (0, b"a b\n"), p.stderr


# detached containers: ps, logs, stop, start, restart, kill, wait, rm -----------------------

def test_ps_filters_and_format(daemon):
    web, done = uname("web"), uname("done")
    with removing(daemon, web, done):
        cid = ok(daemon.docker("run", "-d", "--name", web, "busybox", "httpd", "-f", "-p", "8080")).strip()
        assert re.fullmatch(r"[0-9a-f]{64}", cid)
        assert daemon.docker("run", "--name", done, "busybox", "true").returncode == 0
        done_id = inspect(daemon, done)["Id"]

        running = ok(daemon.docker("ps"))
        assert running.startswith("CONTAINER ID")
        assert web in running and cid[:12] in running and done not in running
        assert '"httpd -f -p 8080"' in running
        everything = ok(daemon.docker("ps", "-a"))
        assert web in everything and done in everything
        assert re.search(rf"{done_id[:12]} .*Exited \(0\) .*{done}", everything)

        quiet = ok(daemon.docker("ps", "-q")).split()
        assert cid[:12] in quiet and done_id[:12] not in quiet
        assert ok(daemon.docker("ps", "-q", "--no-trunc", "--filter", f"name={web}")) == cid + "\n"

        exited = ok(daemon.docker("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}")).split()
        assert done in exited and web not in exited
        running_names = ok(daemon.docker("ps", "--filter", "status=running", "--format", "{{.Names}}")).split()
        assert web in running_names and done not in running_names
        assert ok(daemon.docker("ps", "-a", "--filter", f"name={web}", "--format", "{{.Names}}")) == f"{web}\n"
        assert ok(daemon.docker("ps", "-a", "--filter", f"name={web}",
                                "--format", "{{.ID}} {{.Image}} {{.State}}")) == f"{cid[:12]} busybox running\n"


def test_logs_tail_and_timestamps(daemon):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("run", "-d", "--name", n, "busybox", "sh", "-c",
                         "for i in $(seq 1 10); do echo line$i; done; echo oops >&2"))
        assert ok(daemon.docker("wait", n)) == "0\n"
        p = daemon.docker("logs", n)
        assert p.stdout.decode() == "".join(f"line{i}\n" for i in range(1, 11))
        assert p.stderr == b"oops\n"
        p = daemon.docker("logs", "--tail", "5", "-t", n)
        lines = p.stdout.decode().splitlines() + p.stderr.decode().splitlines()
        assert len(lines) == 5, lines
        stamps = []
        for line in lines:
            m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z (\S+)", line)
            assert m, line
            stamps.append(datetime.fromisoformat(m.group(1)))
        assert sorted(l.split()[1] for l in lines) == sorted(["line7", "line8", "line9", "line10", "oops"])
        assert abs((datetime.utcnow() - stamps[0]).total_seconds()) < 300


def test_logs_follow(daemon):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("run", "-d", "--name", n, "busybox", "sh", "-c",
                         "for i in $(seq 1 8); do echo tick$i; sleep 0.3; done"))
        proc = subprocess.Popen(["docker", "logs", "-f", n], env=daemon.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            first = proc.stdout.readline()
            assert first == b"tick1\n"
            # we got output while the container was still writing
            assert inspect(daemon, n)["State"]["Running"] is True
            rest, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert first + rest == b"".join(b"tick%d\n" % i for i in range(1, 9))
        assert inspect(daemon, n)["State"]["Running"] is False


def test_stop_graceful(daemon):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("run", "-d", "--name", n, "busybox", *BUSYBOX_FOREVER))
        time.sleep(0.3)  # let sh install its trap
        t0 = time.monotonic()
        assert ok(daemon.docker("stop", n)) == f"{n}\n"
        assert time.monotonic() - t0 < 5  # TERM handled: no 10 s timeout
        state = inspect(daemon, n)["State"]
        assert (state["Status"], state["ExitCode"], state["Running"]) == ("exited", 0, False)
        assert state["FinishedAt"] > state["StartedAt"]


def test_stop_timeout_kills_pid1_ignoring_term(daemon):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("run", "-d", "--name", n, "busybox", "httpd", "-f", "-p", "8080"))
        t0 = time.monotonic()
        assert ok(daemon.docker("stop", "-t", "1", n)) == f"{n}\n"
        took = time.monotonic() - t0
        assert 0.9 <= took < 6, took  # pid 1 ignores TERM: waits the timeout, then KILL
        state = inspect(daemon, n)["State"]
        assert (state["Status"], state["ExitCode"]) == ("exited", 137)


def test_start_restart(daemon):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("create", "--name", n, "busybox", *BUSYBOX_FOREVER))
        assert inspect(daemon, n)["State"]["Status"] == "created"
        assert ok(daemon.docker("start", n)) == f"{n}\n"
        s1 = inspect(daemon, n)["State"]
        assert s1["Running"] and s1["Pid"] > 0
        time.sleep(0.3)
        assert ok(daemon.docker("restart", "-t", "5", n)) == f"{n}\n"
        s2 = inspect(daemon, n)["State"]
        assert s2["Running"] and s2["Status"] == "running"
        assert s2["Pid"] != s1["Pid"] and s2["StartedAt"] > s1["StartedAt"]
        ok(daemon.docker("stop", n))
        assert ok(daemon.docker("start", n)) == f"{n}\n"
        assert inspect(daemon, n)["State"]["Running"] is True


def test_kill_and_wait(daemon):
    trap, sleeper = uname(), uname()
    with removing(daemon, trap, sleeper):
        ok(daemon.docker("run", "-d", "--name", trap, "busybox", *BUSYBOX_FOREVER))
        ok(daemon.docker("run", "-d", "--name", sleeper, "busybox", "sleep", "100"))
        time.sleep(0.3)
        assert ok(daemon.docker("kill", "-s", "TERM", trap)) == f"{trap}\n"
        assert ok(daemon.docker("wait", trap)) == "0\n"
        assert ok(daemon.docker("kill", sleeper)) == f"{sleeper}\n"
        assert ok(daemon.docker("wait", sleeper)) == "137\n"
        p = daemon.docker("kill", sleeper)
        assert p.returncode == 1 and "is not running" in p.stderr.decode()


def test_wait_blocks_until_exit(daemon):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("run", "-d", "--name", n, "busybox", "sh", "-c", "sleep 1; exit 5"))
        t0 = time.monotonic()
        assert ok(daemon.docker("wait", n)) == "5\n"
        assert time.monotonic() - t0 > 0.5


def test_rm_running_needs_force(daemon):
    n = uname()
    with removing(daemon, n):
        cid = ok(daemon.docker("run", "-d", "--name", n, "busybox", "sleep", "100")).strip()
        p = daemon.docker("rm", n)
        assert p.returncode == 1
        assert "You cannot remove a running container" in p.stderr.decode()
        assert inspect(daemon, n)["State"]["Running"] is True
        assert ok(daemon.docker("rm", "-f", n)) == f"{n}\n"
        assert ok(daemon.docker("ps", "-a", "-q", "--no-trunc")).split().count(cid) == 0
        p = daemon.docker("rm", n)
        assert p.returncode == 1 and f"No such container: {n}" in p.stderr.decode()


# inspect, images ---------------------------------------------------------------------------

def test_inspect_container(daemon):
    n = uname("web")
    with removing(daemon, n):
        cid = ok(daemon.docker("run", "-d", "--name", n, "busybox", "httpd", "-f", "-p", "8080")).strip()
        info = inspect(daemon, n)
        assert info["Id"] == cid and info["Name"] == f"/{n}"
        assert info["Config"]["Hostname"] == cid[:12]
        assert info["Config"]["Image"] == "busybox"
        assert info["Config"]["Cmd"] == ["httpd", "-f", "-p", "8080"]
        assert info["Path"] == "httpd" and info["Args"] == ["-f", "-p", "8080"]
        assert info["Image"] == inspect(daemon, "busybox")["Id"]
        st = info["State"]
        assert st["Status"] == "running" and st["Running"] is True
        assert st["Paused"] is False and st["Restarting"] is False and st["Dead"] is False
        assert st["OOMKilled"] is False and st["ExitCode"] == 0 and st["Error"] == ""
        assert st["Pid"] > 0 and os.path.exists(f"/proc/{st['Pid']}")
        assert st["StartedAt"].startswith(str(datetime.utcnow().year))
        assert st["FinishedAt"] == "0001-01-01T00:00:00Z"
        assert ok(daemon.docker("inspect", "-f", "{{.State.Running}} {{.Name}}", cid[:12])) == f"true /{n}\n"
        assert ok(daemon.docker("container", "inspect", "-f", "{{.Config.Hostname}}", n)) == cid[:12] + "\n"


def test_inspect_image_and_images(daemon):
    img = inspect(daemon, "busybox")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", img["Id"])
    assert "busybox:latest" in img["RepoTags"]
    assert img["Os"] == "linux" and img["RootFS"]["Type"] == "layers" and img["RootFS"]["Layers"]
    assert ok(daemon.docker("image", "inspect", "-f", "{{.Id}}", "busybox:latest")) == img["Id"] + "\n"
    listing = ok(daemon.docker("images"))
    assert listing.startswith("REPOSITORY   TAG")
    assert re.search(rf"^busybox\s+latest\s+{img['Id'][7:19]}\s", listing, re.M)
    assert img["Id"][7:19] in ok(daemon.docker("images", "-q")).split()
    p = daemon.docker("image", "inspect", "no-such-image-xyz")
    assert p.returncode == 1 and "No such image: no-such-image-xyz" in p.stderr.decode()


def test_tag_and_rmi(daemon):
    repo = uname("tagged")
    busybox_id = inspect(daemon, "busybox")["Id"]
    ok(daemon.docker("tag", "busybox", f"{repo}:v1"))
    try:
        assert inspect(daemon, f"{repo}:v1")["Id"] == busybox_id
        assert re.search(rf"^{repo}\s+v1\s+{busybox_id[7:19]}", ok(daemon.docker("images")), re.M)
        assert ok(daemon.docker("rmi", f"{repo}:v1")) == f"Untagged: {repo}:v1\n"
        assert daemon.docker("inspect", f"{repo}:v1").returncode == 1
        assert inspect(daemon, "busybox")["Id"] == busybox_id  # other tag untouched
    finally:
        daemon.docker("rmi", f"{repo}:v1")


def test_rmi_conflicts_with_container_and_force_untags(daemon, tmp_path):
    repo, n = uname("inuse"), uname()
    image_id = import_fresh(daemon, tmp_path, f"{repo}:1")
    try:
        ok(daemon.docker("tag", f"{repo}:1", f"{repo}:2"))
        ok(daemon.docker("create", "--name", n, f"{repo}:1", "true"))
        # several tags: rmi of one only untags, container or not
        assert ok(daemon.docker("rmi", f"{repo}:2")) == f"Untagged: {repo}:2\n"
        # the last tag of an image a container uses: conflict
        p = daemon.docker("rmi", f"{repo}:1")
        assert p.returncode == 1
        err = p.stderr.decode()
        assert "conflict: unable to remove repository reference" in err and "must force" in err
        assert inspect(daemon, f"{repo}:1")["Id"] == image_id
        p = daemon.docker("rmi", image_id[7:19])
        assert p.returncode == 1 and "conflict: unable to delete" in p.stderr.decode()
        assert "must be forced" in p.stderr.decode()
        # -f of a tag that is not the last one: untag only
        ok(daemon.docker("tag", f"{repo}:1", f"{repo}:3"))
        assert ok(daemon.docker("rmi", "-f", f"{repo}:3")) == f"Untagged: {repo}:3\n"
        assert inspect(daemon, f"{repo}:1")["Id"] == image_id
        daemon.docker("rm", "-f", n)
        out = ok(daemon.docker("rmi", f"{repo}:1"))
        assert out == f"Untagged: {repo}:1\nDeleted: {image_id}\n"
    finally:
        daemon.docker("rm", "-f", n)
        for t in ("1", "2", "3"):
            daemon.docker("rmi", "-f", f"{repo}:{t}")


def test_import_then_run(daemon, tmp_path):
    ref = f"{uname('imp')}:1"
    image_id = import_fresh(daemon, tmp_path, ref, "-c", "ENV FOO=bar", "-c", 'CMD ["sh", "-c", "echo $FOO"]')
    try:
        assert inspect(daemon, ref)["Id"] == image_id
        p = daemon.docker("run", "--rm", ref)
        assert (p.returncode, p.stdout) == (0, b"bar\n"), p.stderr
        # import from stdin
        from tests.support.daemon import busybox_rootfs_tar
        ref2 = f"{uname('imp')}:2"
        out = ok(daemon.docker("import", "-", ref2, input=busybox_rootfs_tar())).strip()
        try:
            assert out.startswith("sha256:") and inspect(daemon, ref2)["Id"] == out
        finally:
            daemon.docker("rmi", ref2)
    finally:
        daemon.docker("rmi", ref)


def test_export_container(daemon, tmp_path):
    n = uname()
    with removing(daemon, n):
        ok(daemon.docker("run", "--name", n, "busybox", "sh", "-c", "echo marker > /exported.txt"))
        dest = tmp_path / "out.tar"
        ok(daemon.docker("export", "-o", str(dest), n))
        with tarfile.open(dest) as tf:
            names = {m.name.lstrip("./") for m in tf.getmembers()}
            assert "bin/busybox" in names
            assert "exported.txt" in names
            member = next(m for m in tf.getmembers() if m.name.lstrip("./") == "exported.txt")
            assert tf.extractfile(member).read() == b"marker\n"
        p = daemon.docker("export", n)  # to stdout
        assert p.returncode == 0
        with tarfile.open(fileobj=io.BytesIO(p.stdout)) as tf:
            assert "bin/busybox" in {m.name.lstrip("./") for m in tf.getmembers()}


def test_save_load_roundtrip(daemon, tmp_path):
    ref = f"{uname('saved')}:1"
    image_id = import_fresh(daemon, tmp_path, ref)
    try:
        saved = tmp_path / "saved.tar"
        ok(daemon.docker("save", "-o", str(saved), ref))
        with tarfile.open(saved) as tf:
            assert "manifest.json" in tf.getnames()
        ok(daemon.docker("rmi", ref))
        assert daemon.docker("image", "inspect", ref).returncode == 1
        assert ok(daemon.docker("load", "-i", str(saved))) == f"Loaded image: {ref}\n"
        assert inspect(daemon, ref)["Id"] == image_id
        # and through stdin
        ok(daemon.docker("rmi", ref))
        assert f"Loaded image: {ref}" in ok(daemon.docker("load", input=saved.read_bytes()))
        assert inspect(daemon, ref)["Id"] == image_id
        p = daemon.docker("run", "--rm", ref, "echo", "loaded")
        assert (p.returncode, p.stdout) == (0, b"loaded\n"), p.stderr
    finally:
        daemon.docker("rmi", ref)


def test_version_and_info(daemon):
    assert ok(daemon.docker("version", "--format", "{{.Server.APIVersion}}")) == "1.41\n"
    text = ok(daemon.docker("version"))
    assert re.search(r"Server:.*\n(.*\n)*?\s+API version:\s+1\.41", text)
    info = json.loads(ok(daemon.docker("info", "--format", "{{json .}}")))
    assert info["ServerVersion"] and info["OSType"] == "linux"
    assert isinstance(info["Containers"], int) and info["Images"] >= 1
    assert "ServerErrors" not in info or not info["ServerErrors"]
    assert "Server Version:" in ok(daemon.docker("info"))


# isolation ---------------------------------------------------------------------------------

def run_out(daemon, *args: str, timeout: float = 60) -> tuple[int, bytes, bytes]:
    p = daemon.docker("run", "--rm", *args, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_pid_namespace(daemon):
    assert run_out(daemon, "busybox", "cat", "/proc/1/cmdline") == (0, b"cat\0/proc/1/cmdline\0", b"")
    rc, out, _ = run_out(daemon, "busybox", "sh", "-c", "echo $$; ps -o pid | wc -l")
    assert rc == 0 and out.split()[0] == b"1"


def test_hostname_is_short_id(daemon):
    n = uname()
    with removing(daemon, n):
        p = daemon.docker("run", "--name", n, "busybox", "sh", "-c", "hostname; cat /etc/hostname")
        cid = inspect(daemon, n)["Id"]
        assert (p.returncode, p.stdout.decode()) == (0, f"{cid[:12]}\n{cid[:12]}\n")


def test_dev_and_readonly_sys(daemon):
    rc, out, _ = run_out(daemon, "busybox", "ls", "/dev")
    assert rc == 0
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm"} <= set(out.decode().split())
    rc, out, err = run_out(daemon, "busybox", "sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c")
    assert (rc, out.strip()) == (0, b"4"), err
    rc, out, err = run_out(daemon, "busybox", "touch", "/sys/x")
    assert rc != 0 and b"Read-only file system" in err


def test_network_none_has_only_lo(daemon):
    rc, out, err = run_out(daemon, "--network", "none", "busybox", "ls", "/sys/class/net")
    assert (rc, out.split()) == (0, [b"lo"]), err


def test_network_host_sees_host_interfaces(daemon):
    before = set(os.listdir("/sys/class/net"))
    rc, out, err = run_out(daemon, "--network", "host", "busybox", "ls", "/sys/class/net")
    after = set(os.listdir("/sys/class/net"))
    assert rc == 0, err
    # test daemons running beside this one make and remove links (dyt…) at any moment
    transient = lambda names: {n for n in names if not n.startswith("dyt")}  # noqa: E731
    seen = set(out.decode().split())
    assert transient(before & after) <= seen
    assert transient(seen) <= before | after
    assert len(seen) > 1 or before == {"lo"}


def test_memory_limit_oom_kills(daemon):
    n = uname()
    with removing(daemon, n):
        p = daemon.docker("run", "--name", n, "--memory", "16m", "busybox",
                          "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1", timeout=120)
        assert p.returncode == 137, p.stderr
        info = inspect(daemon, n)
        assert info["State"]["OOMKilled"] is True and info["State"]["ExitCode"] == 137
        assert info["HostConfig"]["Memory"] == 16 * 1024 * 1024
    # within the limit, it works
    rc, _, err = run_out(daemon, "--memory", "64m", "busybox", "dd", "if=/dev/zero", "of=/dev/null",
                         "bs=1M", "count=4")
    assert rc == 0, err


def test_pids_limit(daemon):
    n = uname()
    with removing(daemon, n):
        p = daemon.docker("run", "--name", n, "--pids-limit", "10", "busybox", "sh", "-c",
                          "for i in $(seq 50); do sleep 5 & done; wait", timeout=60)
        assert p.returncode != 0
        assert b"can't fork" in p.stderr or b"Resource temporarily unavailable" in p.stderr, p.stderr
        info = inspect(daemon, n)
        assert info["HostConfig"]["PidsLimit"] == 10
        assert info["State"]["Running"] is False


def _running_ids(daemon) -> set[str]:
    return set(ok(daemon.docker("ps", "-q", "--no-trunc")).split())


def test_zz_no_leftover_mounts_or_cgroups(daemon):
    """Runs last in this module: only running containers may hold mounts and cgroups."""
    mounts, cgroups = daemon.leftovers(_running_ids(daemon))
    if mounts or cgroups:  # give asynchronous cleanup a moment, then judge
        time.sleep(2)
        mounts, cgroups = daemon.leftovers(_running_ids(daemon))
    assert mounts == [] and cgroups == []
