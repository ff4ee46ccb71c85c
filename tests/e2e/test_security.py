"""Security defaults through the docker CLI and docker-py: seccomp, no-new-privileges, privileged,
read-only, devices, sysctls, init, namespaces modes, and the bad input each must refuse."""
from __future__ import annotations

import os
import shutil

import pytest

if shutil.which("tini-static") is None and shutil.which("tini") is None:
    NO_TINI = "needs Debian's tini (scripts/setup installs it)"
else:
    NO_TINI = ""


def run(d, *args, check=True):
    r = d.docker("run", "--rm", *args)
    if check:
        assert r.returncode == 0, r.stderr.decode()
    return r


def status(d, *opts) -> dict[str, str]:
    out = run(d, *opts, "busybox", "cat", "/proc/self/status").stdout.decode()
    return dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)


def test_default_container_has_seccomp_and_docker_caps(daemon):
    st = status(daemon)
    assert st["Seccomp"].strip() == "2"
    assert st["CapEff"].strip() == "00000000a80425fb"
    assert st["NoNewPrivs"].strip() == "0"


def test_exec_runs_under_the_containers_seccomp_filter(daemon):
    import uuid

    confined, unconfined = f"sc-{uuid.uuid4().hex[:6]}", f"su-{uuid.uuid4().hex[:6]}"
    try:
        assert daemon.docker("run", "-d", "--name", confined, "busybox", "sleep", "60").returncode == 0
        assert daemon.docker("run", "-d", "--name", unconfined, "--security-opt", "seccomp=unconfined",
                             "busybox", "sleep", "60").returncode == 0
        for name, want in ((confined, b"Seccomp:\t2\n"), (unconfined, b"Seccomp:\t0\n")):
            for extra in ((), ("--privileged",)):
                out = daemon.docker("exec", *extra, name, "grep", "Seccomp:", "/proc/self/status").stdout
                assert out == want, (name, extra, out)
    finally:
        daemon.docker("rm", "-f", confined, unconfined)


def test_unconfined_and_no_new_privileges(daemon):
    st = status(daemon, "--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges")
    assert st["Seccomp"].strip() == "0"
    assert st["NoNewPrivs"].strip() == "1"


def test_custom_profile_from_a_file(daemon, tmp_path):
    # everything allowed except mkdir/mkdirat, which fail with EPERM
    profile = tmp_path / "p.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": '
                       '["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}')
    r = run(daemon, "--security-opt", f"seccomp={profile}", "busybox", "mkdir", "/x", check=False)
    assert r.returncode == 1 and b"not permitted" in r.stderr


def test_default_profile_allows_mount_with_sys_admin(daemon):
    # the caps condition of the profile: mount is in only for CAP_SYS_ADMIN
    r = run(daemon, "--cap-add", "SYS_ADMIN", "busybox", "mount", "-t", "tmpfs", "none", "/tmp")
    assert r.returncode == 0


def test_privileged_gets_the_daemons_caps_devices_and_rw_sys(daemon):
    with open("/proc/self/status") as f:
        host_bnd = next(l.split()[1] for l in f if l.startswith("CapBnd:"))
    out = run(daemon, "--privileged", "busybox", "sh", "-c",
              "grep -E 'CapEff|Seccomp:' /proc/self/status; grep ' /sys ' /proc/mounts; "
              "ls /dev | wc -l; cat /proc/1/mountinfo | grep -c ' /proc/kcore ' || true").stdout.decode()
    assert f"CapEff:\t{host_bnd}" in out
    assert "Seccomp:\t0" in out
    assert "sysfs /sys sysfs rw" in out
    n_dev = int(out.splitlines()[3])
    assert n_dev > 50  # the host's device nodes, not the 15 of a default /dev


def test_masked_and_readonly_paths(daemon):
    masked = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/sched_debug") if os.path.exists(p)]
    assert masked, "none of the masked files exist on this kernel"
    out = run(daemon, "busybox", "sh", "-c",
              f"cat {' '.join(masked)} | wc -c; grep -E ' /proc/(sys|sysrq-trigger) ' /proc/mounts"
              ).stdout.decode()
    assert out.split()[0] == "0"  # /dev/null over each of them
    assert "/proc/sys proc ro" in out
    if os.path.exists("/proc/sysrq-trigger"):  # absent on kernels without CONFIG_MAGIC_SYSRQ
        assert "/proc/sysrq-trigger proc ro" in out


def test_read_only_rootfs(daemon):
    r = run(daemon, "--read-only", "busybox", "touch", "/x", check=False)
    assert r.returncode == 1 and b"Read-only file system" in r.stderr


def test_group_add_hostname_add_host(daemon):
    out = run(daemon, "--group-add", "123", "--group-add", "nogroup", "--hostname", "boat",
              "--add-host", "dock:10.1.2.3", "busybox", "sh", "-c",
              "id; hostname; grep dock /etc/hosts").stdout.decode()
    assert "groups=123,65534(nogroup)" in out
    assert "\nboat\n" in out
    assert "10.1.2.3\tdock" in out


def test_device_is_created_and_allowed(daemon):
    out = run(daemon, "--device", "/dev/null:/dev/mynull", "busybox", "sh", "-c",
              "ls -l /dev/mynull; echo x > /dev/mynull && echo wrote").stdout.decode()
    assert "1,   3" in out and "wrote" in out


def test_device_cgroup_denies_other_devices(daemon):
    # CAP_MKNOD is in the default set: the node can be made, but never opened
    r = run(daemon, "busybox", "sh", "-c", "mknod /tmp/zero c 1 5 && head -c1 /tmp/zero >/dev/null;"
            " mknod /tmp/mem c 1 1 && head -c1 /tmp/mem", check=False)
    assert r.returncode != 0 and b"Operation not permitted" in r.stderr


def test_namespaced_sysctls(daemon):
    out = run(daemon, "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=12345",
              "busybox", "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax").stdout
    assert out.split() == [b"1", b"12345"]


@pytest.mark.skipif(bool(NO_TINI), reason=NO_TINI or "x")
def test_init_reaps_zombies(daemon):
    out = run(daemon, "--init", "busybox", "sh", "-c",
              "sh -c 'sleep 0.1 & exec true'; sleep 0.5; ps -o pid,stat,comm").stdout.decode()
    assert "docker-init" in out.splitlines()[1]
    assert " Z " not in out


def test_pid_uts_ipc_host_modes(daemon):
    n = int(run(daemon, "--pid", "host", "busybox", "sh", "-c", "ls -d /proc/[0-9]* | wc -l").stdout)
    assert n > 20
    assert run(daemon, "--uts", "host", "busybox", "hostname").stdout.decode().strip() == os.uname().nodename
    run(daemon, "--ipc", "host", "busybox", "true")


def test_join_pid_and_ipc_of_another_container(daemon):
    d = daemon
    cid = d.docker("run", "-d", "--ipc", "shareable", "busybox", "sh", "-c",
                   "echo shared > /dev/shm/x; exec sleep 100").stdout.decode().strip()
    try:
        out = run(d, "--pid", f"container:{cid}", "--ipc", f"container:{cid}", "busybox", "sh", "-c",
                  "ps; cat /dev/shm/x").stdout.decode()
        assert "sleep 100" in out and "shared" in out
        # a private IPC namespace cannot be joined, as in Docker 20.10
        other = d.docker("run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
        r = run(d, "--ipc", f"container:{other}", "busybox", "true", check=False)
        assert r.returncode == 125 and b"non-shareable IPC" in r.stderr
        d.docker("rm", "-f", other)
    finally:
        d.docker("rm", "-f", cid)


def test_docker_py_security_options(daemon):
    client = daemon.client()
    out = client.containers.run("busybox", ["grep", "-E", "Seccomp:|NoNewPrivs", "/proc/self/status"],
                                security_opt=["no-new-privileges:true"], remove=True)
    assert b"NoNewPrivs:\t1" in out and b"Seccomp:\t2" in out


# bad input: each is a 400 at create and leaves no container behind ---------------------------
@pytest.mark.parametrize("args, message", [
    (["--cap-add", "NOPE"], 'unknown capability: "CAP_NOPE"'),
    (["--device", "/dev/does-not-exist"], "error gathering device information"),
    (["--security-opt", "bogus=1"], "Invalid --security-opt"),
    (["--memory", "1m"], "Minimum memory limit allowed is 6MB"),
    (["--ipc", "weird"], "invalid IPC mode: weird"),
])
def test_bad_security_input_is_refused_and_leaves_nothing(daemon, args, message):
    before = daemon.docker("ps", "-aq").stdout
    r = daemon.docker("create", *args, "busybox", "true")
    assert r.returncode != 0 and message.encode() in r.stderr, r.stderr
    assert daemon.docker("ps", "-aq").stdout == before


@pytest.mark.parametrize("kwargs, message", [
    ({"sysctls": {"vm.swappiness": "1"}}, "not in a separate kernel namespace"),
    ({"security_opt": ["seccomp={not json"]}, "Decoding seccomp profile failed"),
    ({"security_opt": ['seccomp={"defaultAction": "SCMP_ACT_NOPE"}']}, "invalid defaultAction"),
])
def test_bad_input_refused_by_the_api(daemon, kwargs, message):
    import docker.errors

    client = daemon.client()
    before = len(client.containers.list(all=True))
    with pytest.raises(docker.errors.APIError) as e:
        client.containers.create("busybox", "true", **kwargs)
    assert e.value.status_code == 400 and message in str(e.value)
    assert len(client.containers.list(all=True)) == before
