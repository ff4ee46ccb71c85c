"""One conformance suite for every IPAM driver in network.ipam.BUILTIN (pure: no kernel) and for an
IpamDriver plugin (tests/plugins/servers/ipam_pool.py, a real process handing out 10.10.0.0/16 as /24s)."""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Iterator

import pytest

from dockyard import errors
from dockyard.network import ipam
from dockyard.plugins.client import Timing
from dockyard.plugins.config import PluginConfig
from dockyard.plugins.discovery import Dirs
from dockyard.plugins.setup import PluginSystem
from tests.plugins.servers import PluginProcess

Net = ipaddress.IPv4Network
Addr = ipaddress.IPv4Address


PLUGINS = ["dytpool"]  # served by tests/plugins/servers/ipam_pool.py


@pytest.fixture(params=[d.name for d in ipam.BUILTIN] + PLUGINS)
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ipam.IpamDriver]:
    if request.param not in PLUGINS:
        yield ipam.driver(request.param)
        return
    sockets = tmp_path / "plugins"
    with PluginProcess("ipam_pool", str(sockets / f"{request.param}.sock"), "--base", "10.10.0.0/16"):
        system = PluginSystem(PluginConfig(Dirs(sockets=(str(sockets),), specs=()), Timing(5, 1), ()))
        yield system.ipam_drivers({})[request.param]


def test_a_picked_pool_avoids_networks_in_use_host_routes_and_nameservers(driver: ipam.IpamDriver) -> None:
    pools = [ipam.Pool(Net("10.10.0.0/16"), 24)]
    s = driver.request_pool(None, [Net("10.10.0.0/24")], [Net("10.10.1.0/24")], [Addr("10.10.2.53")], pools)
    assert s.subnet == Net("10.10.3.0/24") and s.gateway in s.subnet


def test_exhausted_pools_are_unavailable(driver: ipam.IpamDriver) -> None:
    with pytest.raises(errors.Unavailable):
        driver.request_pool(None, [Net("10.10.0.0/16")], [], [], [ipam.Pool(Net("10.10.0.0/16"), 24)])


def test_a_requested_pool_is_checked(driver: ipam.IpamDriver) -> None:
    s = driver.request_pool({"Subnet": "10.20.0.0/24", "Gateway": "10.20.0.254", "IPRange": "10.20.0.128/25"},
                            [], [], [])
    assert (s.subnet, s.gateway, s.ip_range) == (Net("10.20.0.0/24"), Addr("10.20.0.254"), Net("10.20.0.128/25"))
    with pytest.raises(errors.Forbidden, match="overlaps"):
        driver.request_pool({"Subnet": "10.20.0.0/24"}, [Net("10.20.0.0/16")], [], [])
    with pytest.raises(errors.InvalidParameter):
        driver.request_pool({"Subnet": "10.20.0.0/24", "Gateway": "10.30.0.1"}, [], [], [])
    with pytest.raises(errors.InvalidParameter):
        driver.request_pool({"Subnet": "not-a-cidr"}, [], [], [])


def test_addresses_lowest_free_first_never_the_gateway_and_conflicts_refused(driver: ipam.IpamDriver) -> None:
    s = driver.request_pool({"Subnet": "10.30.0.0/29"}, [], [], [])
    first = driver.request_address(s, set())
    assert first == Addr("10.30.0.2")  # .1 is the gateway
    assert driver.request_address(s, {first}) == Addr("10.30.0.3")
    assert driver.request_address(s, set(), Addr("10.30.0.5")) == Addr("10.30.0.5")
    with pytest.raises(errors.Conflict):
        driver.request_address(s, {Addr("10.30.0.5")}, Addr("10.30.0.5"))
    with pytest.raises(errors.InvalidParameter):
        driver.request_address(s, set(), Addr("10.31.0.5"))
    with pytest.raises(errors.Unavailable):
        driver.request_address(s, {Addr(f"10.30.0.{i}") for i in range(2, 7)})


def test_an_unregistered_driver_is_dockers_plugin_not_found() -> None:
    with pytest.raises(errors.NotFound, match='plugin "nope" not found'):
        ipam.driver("nope")
    assert ipam.driver("").name == "default"
