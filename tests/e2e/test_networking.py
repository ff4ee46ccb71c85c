"""Container networking through the real docker CLI, docker-py and the dockyard CLI.

Traffic goes only to loopback, the host's own address and the test daemon's namespaces.
"""
from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request

import pytest

from tests.support.daemon import busybox_rootfs_tar

# busybox-static's wget crashes on a numeric host (glibc's static getaddrinfo): nc for those
NC_GET = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port}"
HTTPD = "mkdir -p /w && echo {text} > /w/index.html && exec httpd -f -p 80 -h /w"
UDP_ECHO_C = r"""
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdlib.h>
int main(int c, char **v) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(atoi(v[1]));
  bind(s, (struct sockaddr *)&a, sizeof a);
  for (;;) { char b[512]; struct sockaddr_in p; socklen_t l = sizeof p;
    int n = recvfrom(s, b, sizeof b, 0, (struct sockaddr *)&p, &l);
    if (n > 0) sendto(s, b, n, 0, (struct sockaddr *)&p, l); }
}
"""


def _ok(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 0, (r.stdout, r.stderr)
    return r.stdout.decode()


def _get(url: str, timeout: float = 5) -> bytes:
    deadline = time.time() + timeout
    while True:
        try:
            return urllib.request.urlopen(url, timeout=2).read()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def _host_address() -> str | None:
    out = subprocess.run(["ip", "-4", "-o", "route", "get", "1.1.1.1"], capture_output=True, text=True).stdout
    parts = out.split()
    return parts[parts.index("src") + 1] if "src" in parts else None


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _links(daemon) -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()
            if l.split(":")[1].strip().startswith(daemon.net_prefix)]


def _veths(daemon) -> list[str]:
    return [l for l in _links(daemon) if l.startswith(daemon.net_prefix + "v")]


def _dnat_rules(daemon) -> list[str]:
    out = subprocess.run(["nft", "list", "chain", "ip", daemon.net_prefix, "ports"],
                         capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "dnat" in l]


@pytest.fixture()
def clean(daemon):
    """Remove what a test made, and check that nothing of it stays on the host."""
    yield daemon
    ids = _ok(daemon.docker("ps", "-aq")).split()
    if ids:
        daemon.docker("rm", "-f", *ids)
    daemon.docker("network", "prune", "-f")
    assert _veths(daemon) == []
    assert _dnat_rules(daemon) == []


def test_default_networks_and_bridge_name(clean) -> None:
    d = clean
    out = _ok(d.docker("network", "ls", "--format", "{{.Name}} {{.Driver}}"))
    assert sorted(out.split("\n")[:-1]) == ["bridge bridge", "host host", "none null"]
    info = json.loads(_ok(d.docker("network", "inspect", "bridge")))[0]
    assert info["Options"]["com.docker.network.bridge.name"] == d.net_prefix + "0"
    assert "docker0" not in _links(d)


def test_two_containers_by_name_and_alias(clean) -> None:
    d = clean
    _ok(d.docker("network", "create", "app"))
    _ok(d.docker("run", "-d", "--name", "db", "--network", "app", "--network-alias", "database",
                 "busybox", "sh", "-c", HTTPD.format(text="from-db")))
    out = _ok(d.docker("run", "--rm", "--network", "app", "busybox", "sh", "-c",
                       "wget -qO- http://db/ && wget -qO- http://database/ && cat /etc/resolv.conf"))
    assert out.count("from-db") == 2 and "nameserver 127.0.0.11" in out
    info = json.loads(_ok(d.docker("inspect", "db")))[0]
    ep = info["NetworkSettings"]["Networks"]["app"]
    assert ep["IPAddress"] and ep["Gateway"] and ep["MacAddress"].startswith("02:42:")
    assert "database" in ep["Aliases"]
    net = json.loads(_ok(d.docker("network", "inspect", "app")))[0]
    assert info["Id"] in net["Containers"]
    # the default bridge does not resolve names, like Docker's
    r = d.docker("run", "--rm", "busybox", "sh", "-c", "wget -T 2 -qO- http://db/")
    assert r.returncode != 0


def test_published_port_from_host_loopback_and_other_address(clean) -> None:
    d = clean
    port = _free_port()
    _ok(d.docker("run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", "sh", "-c",
                 HTTPD.format(text="hello")))
    assert _get(f"http://127.0.0.1:{port}/") == b"hello\n"
    addr = _host_address()
    if addr:
        assert _get(f"http://{addr}:{port}/") == b"hello\n"
    assert _ok(d.docker("port", "web")).strip() == f"80/tcp -> 0.0.0.0:{port}"
    assert d.dockyard("port", "web", "80").stdout.decode().strip() == f"0.0.0.0:{port}"
    ps = _ok(d.docker("ps", "--format", "{{.Ports}}"))
    assert f"0.0.0.0:{port}->80/tcp" in ps
    # reachable from a container on another network through the host
    _ok(d.docker("network", "create", "other"))
    gw = json.loads(_ok(d.docker("network", "inspect", "other")))[0]["IPAM"]["Config"][0]["Gateway"]
    out = _ok(d.docker("run", "--rm", "--network", "other", "busybox", "sh", "-c",
                       NC_GET.format(host=gw, port=port)))
    assert out.endswith("hello\n")
    _ok(d.docker("stop", "-t", "1", "web"))
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
    assert _dnat_rules(d) == []


def test_random_port_and_publish_all(clean) -> None:
    d = clean
    client = d.client()
    c = client.containers.run("busybox", ["sh", "-c", HTTPD.format(text="rnd")], detach=True,
                              ports={"80/tcp": None})
    c.reload()
    host_port = c.attrs["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"]
    assert _get(f"http://127.0.0.1:{host_port}/") == b"rnd\n"
    c.remove(force=True)


def _udp_image(d, tmp_path) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build a static UDP echo server")
    src = tmp_path / "udpecho.c"
    src.write_text(UDP_ECHO_C)
    binary = tmp_path / "udpecho"
    r = subprocess.run(["gcc", "-static", "-O2", "-o", str(binary), str(src)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot build a static binary: {r.stderr[-200:]!r}")
    buf = io.BytesIO(busybox_rootfs_tar())
    out = io.BytesIO()
    with tarfile.open(fileobj=buf) as src_tar, tarfile.open(fileobj=out, mode="w") as dst:
        for m in src_tar.getmembers():
            dst.addfile(m, src_tar.extractfile(m) if m.isfile() else None)
        data = binary.read_bytes()
        info = tarfile.TarInfo("bin/udpecho")
        info.size, info.mode = len(data), 0o755
        dst.addfile(info, io.BytesIO(data))
    d.client().api.import_image_from_data(out.getvalue(), repository="udpecho", tag="latest")
    return "udpecho:latest"


def test_udp_publishing(clean, tmp_path) -> None:
    d = clean
    image = _udp_image(d, tmp_path)
    port = _free_port()
    _ok(d.docker("run", "-d", "--name", "echo", "-p", f"127.0.0.1:{port}:9999/udp", image, "udpecho", "9999"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    try:
        for _ in range(20):
            s.sendto(b"ping", ("127.0.0.1", port))
            try:
                assert s.recvfrom(64)[0] == b"ping"
                break
            except socket.timeout:
                continue
        else:
            pytest.fail("no UDP echo through the published port")
    finally:
        s.close()


def test_isolation_between_networks_and_internal(clean) -> None:
    d = clean
    _ok(d.docker("network", "create", "neta"))
    _ok(d.docker("network", "create", "netb"))
    _ok(d.docker("run", "-d", "--name", "srv", "--network", "neta", "busybox", "sh", "-c",
                 HTTPD.format(text="a")))
    ip = json.loads(_ok(d.docker("inspect", "srv")))[0]["NetworkSettings"]["Networks"]["neta"]["IPAddress"]
    assert _ok(d.docker("run", "--rm", "--network", "neta", "busybox", "sh", "-c",
                        NC_GET.format(host=ip, port=80))).endswith("a\n")
    r = d.docker("run", "--rm", "--network", "netb", "busybox", "sh", "-c", NC_GET.format(host=ip, port=80))
    assert r.returncode != 0 and not r.stdout.endswith(b"a\n")
    _ok(d.docker("network", "create", "--internal", "closed"))
    addr = _host_address() or "192.0.2.1"
    r = d.docker("run", "--rm", "--network", "closed", "busybox", "sh", "-c",
                 "ip route; " + NC_GET.format(host=addr, port=9))
    assert r.returncode != 0 and "default" not in r.stdout.decode()


def test_connect_disconnect_and_remove_rules(clean) -> None:
    d = clean
    _ok(d.docker("network", "create", "--subnet", "10.251.7.0/24", "--ip-range", "10.251.7.128/25", "fixed"))
    _ok(d.docker("run", "-d", "--name", "c1", "busybox", "sleep", "300"))
    _ok(d.docker("network", "connect", "--ip", "10.251.7.200", "--alias", "one", "fixed", "c1"))
    out = _ok(d.docker("exec", "c1", "ip", "-4", "-o", "addr")) if d.docker("exec", "c1", "true").returncode == 0 \
        else ""
    info = json.loads(_ok(d.docker("inspect", "c1")))[0]
    assert info["NetworkSettings"]["Networks"]["fixed"]["IPAddress"] == "10.251.7.200"
    assert out == "" or "10.251.7.200" in out
    r = d.docker("network", "rm", "fixed")
    assert r.returncode != 0 and b"active endpoints" in r.stderr
    _ok(d.docker("network", "disconnect", "fixed", "c1"))
    assert "fixed" not in json.loads(_ok(d.docker("inspect", "c1")))[0]["NetworkSettings"]["Networks"]
    _ok(d.docker("network", "rm", "fixed"))


def test_host_none_and_container_modes(clean) -> None:
    d = clean
    out = _ok(d.docker("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"))
    assert "lo" in out and "eth0" not in out
    out = _ok(d.docker("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link"))
    assert d.net_prefix + "0" in out
    _ok(d.docker("run", "-d", "--name", "base", "busybox", "sh", "-c", HTTPD.format(text="shared")))
    out = _ok(d.docker("run", "--rm", "--network", "container:base", "busybox", "sh", "-c",
                       NC_GET.format(host="127.0.0.1", port=80)))
    assert out.endswith("shared\n")


def test_dockyard_cli_network_commands(clean) -> None:
    d = clean
    _ok(d.dockyard("network", "create", "--subnet", "10.252.3.0/24", "--label", "a=b", "cli"))
    assert "cli" in _ok(d.dockyard("network", "ls"))
    info = json.loads(_ok(d.dockyard("network", "inspect", "cli")))[0]
    assert info["IPAM"]["Config"][0]["Subnet"] == "10.252.3.0/24" and info["Labels"] == {"a": "b"}
    _ok(d.dockyard("run", "-d", "--name", "cl", "--network", "cli", "--ip", "10.252.3.9",
                   "--network-alias", "aka", "busybox", "sleep", "300"))
    ep = json.loads(_ok(d.docker("inspect", "cl")))[0]["NetworkSettings"]["Networks"]["cli"]
    assert ep["IPAddress"] == "10.252.3.9" and "aka" in ep["Aliases"]
    _ok(d.dockyard("rm", "-f", "cl"))
    assert "cli" in _ok(d.dockyard("network", "prune", "-f"))
    assert d.dockyard("network", "inspect", "cli").returncode != 0


@pytest.mark.parametrize("args,message", [
    (["network", "create", "--subnet", "10.253.0.0/16", "ovl1"], None),
])
def test_bad_input_leaves_nothing(clean, args, message) -> None:
    d = clean
    _ok(d.docker(*args))
    before = _links(d)
    cases = [
        (["network", "create", "--subnet", "10.253.4.0/24", "ovl2"], "overlaps"),
        (["network", "create", "--subnet", "10.254.0.0/24", "--gateway", "10.9.0.1", "gw"], "gateway"),
        (["network", "create", "ovl1"], "already exists"),
        (["run", "--rm", "--network", "ovl1", "--ip", "10.99.99.9", "busybox", "true"], "IP address"),
        (["run", "--rm", "--network", "nosuchnet", "busybox", "true"], "not found"),
        (["network", "rm", "bridge"], "pre-defined"),
        (["network", "connect", "nosuchnet", "x"], "not found"),
        (["run", "--rm", "-p", "80/xyz", "busybox", "true"], "proto"),
    ]
    for argv, text in cases:
        r = d.docker(*argv)
        assert r.returncode != 0, argv
        assert text.lower() in r.stderr.decode().lower(), (argv, r.stderr)
    # an address in use, and a port already bound: a clear error and no half-started container
    _ok(d.docker("run", "-d", "--name", "holder", "--network", "ovl1", "--ip", "10.253.0.50", "busybox",
                 "sleep", "300"))
    r = d.docker("run", "-d", "--name", "clash", "--network", "ovl1", "--ip", "10.253.0.50", "busybox", "true")
    assert r.returncode != 0 and b"Address already in use" in r.stderr
    blocker = socket.socket()
    blocker.bind(("0.0.0.0", 0))
    blocker.listen()
    try:
        port = blocker.getsockname()[1]
        r = d.docker("run", "-d", "--name", "clash2", "-p", f"{port}:80", "busybox", "true")
        assert r.returncode != 0 and b"port is already allocated" in r.stderr
    finally:
        blocker.close()
    state = json.loads(_ok(d.docker("inspect", "clash2")))[0]["State"]
    assert state["Running"] is False
    _ok(d.docker("rm", "-f", "holder", "clash", "clash2"))
    assert sorted(_links(d)) == sorted(before)
    assert _veths(d) == [] and _dnat_rules(d) == []


def test_restart_daemon_keeps_published_container(fresh_daemon) -> None:
    from tests.support.daemon import import_busybox  # noqa: F401  (fresh_daemon imported it)
    d = fresh_daemon
    port = _free_port()
    _ok(d.docker("run", "-d", "--name", "live", "-p", f"{port}:80", "busybox", "sh", "-c",
                 HTTPD.format(text="live")))
    assert _get(f"http://127.0.0.1:{port}/") == b"live\n"
    d.kill()
    d.start()
    assert _get(f"http://127.0.0.1:{port}/") == b"live\n"
    info = json.loads(_ok(d.docker("inspect", "live")))[0]
    assert info["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"] == str(port)
    _ok(d.docker("stop", "-t", "1", "live"))
    assert _veths(d) == [] and _dnat_rules(d) == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
