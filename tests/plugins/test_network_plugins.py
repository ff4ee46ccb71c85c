"""NetworkDriver and IpamDriver plugins end to end: real plugin processes (a veth/bridge network
plugin and a pool-handing IPAM plugin) behind a daemon, driven by the docker CLI and docker-py."""
from __future__ import annotations

import json
import secrets
import subprocess
from typing import Iterator

import pytest

from tests.plugins.conftest import PluginDirs
from tests.plugins.servers import PluginProcess
from tests.support.daemon import TestDaemon, private_daemon


def _links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


@pytest.fixture()
def net_daemon(plugin_dirs: PluginDirs) -> Iterator[tuple[TestDaemon, str]]:
    prefix = f"dyt{secrets.token_hex(2)}"
    try:
        with PluginProcess("network_veth", str(plugin_dirs.sockets / "dytveth.sock"), "--prefix", prefix,
                           calls_log=str(plugin_dirs.base / "net-calls.log")), \
             PluginProcess("ipam_pool", str(plugin_dirs.sockets / "dytpool.sock"), "--base", "10.251.0.0/16",
                           calls_log=str(plugin_dirs.base / "ipam-calls.log")), \
             private_daemon(extra_config=plugin_dirs.config(**{"plugin-timeout": 10})) as d:
            yield d, prefix
    finally:
        for name in _links():
            if name.startswith(prefix):
                subprocess.run(["ip", "link", "del", name], capture_output=True)


def methods(dirs: PluginDirs, log: str) -> list[str]:
    return [json.loads(line)["method"] for line in (dirs.base / log).read_text().splitlines()]


def test_containers_on_a_plugin_network_talk_through_the_plugins_interfaces(
        net_daemon: tuple[TestDaemon, str], plugin_dirs: PluginDirs) -> None:
    d, prefix = net_daemon
    r = d.docker("network", "create", "-d", "dytveth", "--ipam-driver", "dytpool", "pnet")
    assert r.returncode == 0, r.stderr
    n = json.loads(d.docker("network", "inspect", "pnet").stdout)[0]
    assert n["Driver"] == "dytveth" and n["IPAM"]["Driver"] == "dytpool"
    assert n["IPAM"]["Config"] == [{"Subnet": "10.251.0.0/24", "Gateway": "10.251.0.1"}]
    assert f"{prefix}b{n['Id'][:6]}" in _links()  # the plugin's bridge
    d.docker("run", "-d", "--name", "pa", "--net", "pnet", "busybox", "sleep", "300", check=True)
    ip_a = json.loads(d.docker("inspect", "pa").stdout)[0]["NetworkSettings"]["Networks"]["pnet"]["IPAddress"]
    assert ip_a == "10.251.0.2"
    inside = d.docker("exec", "pa", "ip", "-o", "addr", "show", "eth0").stdout.decode()
    assert "10.251.0.2/24" in inside
    r = d.docker("run", "--rm", "--net", "pnet", "busybox", "ping", "-c", "1", "-W", "5", ip_a)
    assert r.returncode == 0, r.stdout + r.stderr
    d.docker("rm", "-f", "pa", check=True)
    net_calls = methods(plugin_dirs, "net-calls.log")
    for m in ("CreateNetwork", "CreateEndpoint", "Join", "Leave", "DeleteEndpoint"):
        assert f"NetworkDriver.{m}" in net_calls
    assert not [x for x in _links() if x.startswith(prefix + "h") or x.startswith(prefix + "c")]
    info = json.loads(d.docker("info", "--format", "{{json .Plugins.Network}}").stdout)
    assert "dytveth" in info and "bridge" in info
    assert d.docker("network", "rm", "pnet").returncode == 0
    assert f"{prefix}b{n['Id'][:6]}" not in _links()
    ipam_calls = methods(plugin_dirs, "ipam-calls.log")
    assert ipam_calls.count("IpamDriver.RequestAddress") == ipam_calls.count("IpamDriver.ReleaseAddress") == 2
    assert "IpamDriver.ReleasePool" in ipam_calls and "NetworkDriver.DeleteNetwork" in methods(plugin_dirs, "net-calls.log")


def test_docker_py_and_bad_plugin_names(net_daemon: tuple[TestDaemon, str]) -> None:
    d, _prefix = net_daemon
    client = d.client()
    import docker

    ipam_cfg = docker.types.IPAMConfig(driver="dytpool",
                                       pool_configs=[docker.types.IPAMPool(subnet="10.251.77.0/24")])
    net = client.networks.create("pynet", driver="dytveth", ipam=ipam_cfg)
    assert net.attrs["IPAM"]["Config"][0]["Subnet"] == "10.251.77.0/24"
    out = client.containers.run("busybox", ["ip", "-o", "-4", "addr", "show", "eth0"], network="pynet", remove=True)
    assert b"10.251.77.2/24" in out
    net.remove()
    r = d.docker("network", "create", "-d", "nosuch", "x")
    assert 'plugin "nosuch" not found' in r.stderr.decode()
    r = d.docker("network", "create", "--ipam-driver", "dytveth", "y")  # exists, but no IpamDriver
    assert r.returncode != 0 and "does not implement IpamDriver" in r.stderr.decode()
