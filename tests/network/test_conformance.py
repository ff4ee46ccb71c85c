"""One conformance suite for every network driver in network.drivers.builtin() and for a NetworkDriver
plugin (tests/plugins/servers/network_veth.py, a real process), on the real kernel (root).

A driver's create is idempotent; a driver that gives containers their own namespace puts one
addressed interface into it on join and takes it away on leave; one that does not touches no
kernel object; delete removes what create made; rules() is what the firewall needs, or None.
"""
from __future__ import annotations

import os
import random
import secrets
import socket
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: links and namespaces")

from dockyard.linux.netlink import Netlink, in_thread  # noqa: E402
from dockyard.network.drivers import Driver, builtin  # noqa: E402
from dockyard.network.model import Endpoint, Network  # noqa: E402
from dockyard.network.rules import BridgeRules  # noqa: E402
from dockyard.plugins.client import Timing  # noqa: E402
from dockyard.plugins.config import PluginConfig  # noqa: E402
from dockyard.plugins.discovery import Dirs  # noqa: E402
from dockyard.plugins.setup import PluginSystem  # noqa: E402
from tests.plugins.servers import PluginProcess  # noqa: E402

NAMES = sorted(builtin(Netlink()))
PLUGINS = ["dytveth"]  # served by tests/plugins/servers/network_veth.py


def _links() -> list[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


@pytest.fixture
def prefix() -> Iterator[str]:
    p = f"dyt{secrets.token_hex(2)}"
    yield p
    for name in _links():
        if name.startswith(p):
            subprocess.run(["ip", "link", "del", name], capture_output=True)


@pytest.fixture(params=NAMES + PLUGINS)
def case(request: pytest.FixtureRequest, prefix: str, tmp_path: Path) -> Iterator[tuple[Driver, Network]]:
    net = Netlink()
    if request.param in PLUGINS:
        sockets = tmp_path / "plugins"
        with PluginProcess("network_veth", str(sockets / f"{request.param}.sock"), "--prefix", prefix):
            system = PluginSystem(PluginConfig(Dirs(sockets=(str(sockets),), specs=()), Timing(10, 1), ()))
            yield from _case(system.network_drivers(builtin(net))[request.param], prefix)
        return
    yield from _case(builtin(net)[request.param], prefix)


def _case(driver: Driver, prefix: str) -> Iterator[tuple[Driver, Network]]:
    third = random.randint(0, 250)
    n = Network(id=secrets.token_hex(32), name=f"{prefix}-net", driver=driver.name, created="",
                config=[{"Subnet": f"10.199.{third}.0/24", "Gateway": f"10.199.{third}.1"}] if driver.has_ipam else [])
    if driver.name == "bridge":
        n.iface = prefix + "b"
    elif driver.name == "macvlan":  # a parent of the test's own (a bridge: no dummy module here), never a host link
        n.iface = prefix + "p"
        subprocess.run(["ip", "link", "add", n.iface, "type", "bridge"], check=True)
        subprocess.run(["ip", "link", "set", n.iface, "up"], check=True)
    yield driver, n


def _endpoint(n: Network, prefix: str, netns: str) -> Endpoint:
    s = n.subnet()
    ip = str(s.subnet.network_address + 2) if s else ""
    return Endpoint(id=secrets.token_hex(32), network_id=n.id, container_id=secrets.token_hex(32), name="c",
                    ip=ip, prefixlen=s.subnet.prefixlen if s else 0, gateway=str(s.gateway) if s else "",
                    mac="02:42:0a:c7:00:02", host_if=prefix + "v", ifname="eth0", netns=netns)


def _inside(netns: str) -> tuple[list[str], list[str]]:
    from pyroute2 import IPRoute

    def look() -> tuple[list[str], list[str]]:
        with IPRoute() as ip:
            return ([link.get_attr("IFLA_IFNAME") for link in ip.get_links()],
                    [a.get_attr("IFA_ADDRESS") for a in ip.get_addr(family=socket.AF_INET)])
    return in_thread(look, netns)


def test_create_is_idempotent_and_delete_undoes_it(case: tuple[Driver, Network], prefix: str) -> None:
    driver, n = case
    before = {name for name in _links() if name.startswith(prefix)}
    driver.create(n)
    driver.create(n)  # also called at every daemon start
    driver.delete(n)
    assert {name for name in _links() if name.startswith(prefix)} == before


def test_join_and_leave(case: tuple[Driver, Network], prefix: str, tmp_path: Path) -> None:
    driver, n = case
    net = Netlink()
    netns = str(tmp_path / "netns")
    driver.create(n)
    net.create_netns(netns)
    try:
        e = _endpoint(n, prefix, netns)
        before_host = set(_links())
        driver.join(n, e)
        names, addrs = _inside(netns)
        if driver.own_netns:
            assert "eth0" in names and e.ip in addrs
        else:
            assert "eth0" not in names and set(_links()) == before_host
        driver.leave(n, e)
        assert prefix + "v" not in _links()
    finally:
        net.remove_netns(netns)
        driver.delete(n)
    assert not os.path.exists(netns)


def test_flags_and_rules(case: tuple[Driver, Network]) -> None:
    driver, n = case
    assert driver.name in NAMES + PLUGINS and isinstance(driver.has_ipam, bool) and isinstance(driver.own_netns, bool)
    rules = driver.rules(n)
    assert rules is None or (isinstance(rules, BridgeRules) and driver.has_ipam)
