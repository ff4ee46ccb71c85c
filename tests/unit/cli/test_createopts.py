"""run/create flags map to the create body docker would send."""
import pytest

from dockyard.cli.client import CLIError
from dockyard.cli.createopts import CreateOptions, build_create_body, parse_mount, parse_port, read_env_file


def body(**kw):
    return build_create_body(CreateOptions(image="busybox", **kw), environ={"HOME": "/root"})


def test_defaults_like_docker_run():
    b = body(command=("echo", "hi"))
    assert b["Image"] == "busybox" and b["Cmd"] == ["echo", "hi"]
    assert b["AttachStdout"] and b["AttachStderr"] and not b["AttachStdin"]
    assert not b["Tty"] and not b["OpenStdin"] and b["Entrypoint"] is None
    host = b["HostConfig"]
    assert host["NetworkMode"] == "default" and host["AutoRemove"] is False
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert "PidsLimit" not in host and "Init" not in host


def test_no_command_is_null():
    assert body()["Cmd"] is None


def test_detached_attaches_nothing():
    b = body(detach=True, interactive=True)
    assert not (b["AttachStdin"] or b["AttachStdout"] or b["AttachStderr"])
    assert b["OpenStdin"] and not b["StdinOnce"]


def test_interactive_tty():
    b = body(interactive=True, tty=True)
    assert b["AttachStdin"] and b["OpenStdin"] and b["StdinOnce"] and b["Tty"]


def test_env_and_labels_and_user():
    b = body(env=("A=1", "HOME", "UNSET"), label=("k=v", "flag"), user="1000:1000", workdir="/tmp",
             hostname="box")
    assert b["Env"] == ["A=1", "HOME=/root", "UNSET"]
    assert b["Labels"] == {"k": "v", "flag": ""}
    assert (b["User"], b["WorkingDir"], b["Hostname"]) == ("1000:1000", "/tmp", "box")


def test_env_file(tmp_path):
    f = tmp_path / "env"
    f.write_text("# comment\n\n  X=1\nHOME\nY=a b\n")
    assert read_env_file(str(f), {"HOME": "/h"}) == ["X=1", "HOME=/h", "Y=a b"]
    b = build_create_body(CreateOptions(image="i", env_file=(str(f),), env=("Z=2",)), environ={})
    assert b["Env"] == ["X=1", "HOME", "Y=a b", "Z=2"]


def test_resources():
    host = body(memory="64m", pids_limit=10, cpus=1.5, cpu_shares=512, memory_swap="-1")["HostConfig"]
    assert host["Memory"] == 64 * 1024 * 1024
    assert host["PidsLimit"] == 10 and host["NanoCpus"] == 1_500_000_000 and host["CpuShares"] == 512
    assert host["MemorySwap"] == -1


def test_bad_memory_is_a_clear_error():
    with pytest.raises(CLIError, match="invalid argument"):
        body(memory="lots")


def test_rm_restart_network_init_stop():
    b = body(rm=True, network="host", init=True, stop_signal="SIGUSR1", stop_timeout=3)
    assert b["HostConfig"]["AutoRemove"] and b["HostConfig"]["NetworkMode"] == "host"
    assert b["HostConfig"]["Init"] is True
    assert b["StopSignal"] == "SIGUSR1" and b["StopTimeout"] == 3
    assert b["NetworkingConfig"] == {"EndpointsConfig": {}}
    assert body(network="mynet")["NetworkingConfig"] == {"EndpointsConfig": {"mynet": {}}}


def test_restart_policies():
    assert body(restart="on-failure:3")["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert body(restart="always")["HostConfig"]["RestartPolicy"]["Name"] == "always"
    with pytest.raises(CLIError, match="Conflicting options"):
        body(rm=True, restart="always")
    with pytest.raises(CLIError):
        body(restart="sometimes")


def test_entrypoint_empty_string_resets():
    assert body(entrypoint="")["Entrypoint"] == [""]
    assert body(entrypoint="/bin/sh")["Entrypoint"] == ["/bin/sh"]


def test_ports():
    assert parse_port("8080:80") == ("80/tcp", [{"HostIp": "", "HostPort": "8080"}])
    assert parse_port("127.0.0.1:53:53/udp") == ("53/udp", [{"HostIp": "127.0.0.1", "HostPort": "53"}])
    assert parse_port("80") == ("80/tcp", [{"HostIp": "", "HostPort": ""}])
    b = body(publish=("8080:80",), expose=("9000",))
    assert b["ExposedPorts"] == {"9000/tcp": {}, "80/tcp": {}}
    assert b["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}


def test_volumes_and_mounts():
    b = body(volume=("/src:/dst:ro", "/anon"), mount=("type=bind,source=/a,target=/b,readonly",))
    assert b["HostConfig"]["Binds"] == ["/src:/dst:ro"]
    assert b["Volumes"] == {"/anon": {}}
    assert b["HostConfig"]["Mounts"] == [{"Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": True}]
    assert parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m")["TmpfsOptions"] == {"SizeBytes": 1048576}
    with pytest.raises(CLIError):
        parse_mount("type=bind,source=/a")


def test_misc_host_flags():
    host = body(privileged=True, cap_add=("NET_ADMIN",), read_only=True, tmpfs=("/run:size=1m",),
                ulimit=("nofile=10:20",), sysctl=("net.ipv4.ip_forward=1",))["HostConfig"]
    assert host["Privileged"] and host["ReadonlyRootfs"] and host["CapAdd"] == ["NET_ADMIN"]
    assert host["Tmpfs"] == {"/run": "size=1m"}
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    assert host["Sysctls"] == {"net.ipv4.ip_forward": "1"}
