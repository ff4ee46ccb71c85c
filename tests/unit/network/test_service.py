"""NetworkService and the container seam against a recording fake kernel (no root needed)."""
from __future__ import annotations

import asyncio
import ipaddress
from types import SimpleNamespace
from typing import Any

import dns.message
import dns.rdatatype
import pytest

from dockyard import errors
from dockyard.network import ipam
from dockyard.network.config import NetworkConfig, from_daemon_json
from dockyard.network.dns import DnsServer
from dockyard.network.rules import Firewall
from dockyard.network.sandbox import ContainerNetworking
from dockyard.network.service import NetworkService
from dockyard.network.store import NetworkStore
from dockyard.store.db import Database

from .test_rules import FakeNft


class FakeNet:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.links: set[str] = {"eth0"}
        self.addresses: dict[str, list[str]] = {}

    def ensure_bridge(self, name: str, address: str, prefixlen: int, mtu: int = 1500) -> None:
        self.calls.append(("bridge", name, address, prefixlen))
        self.links.add(name)
        if f"{address}/{prefixlen}" not in self.addresses.setdefault(name, []):
            self.addresses[name].append(f"{address}/{prefixlen}")

    def delete_link(self, name: str) -> None:
        self.calls.append(("del", name))
        self.links.discard(name)
        self.addresses.pop(name, None)

    def link_addresses(self, name: str) -> list[str]:
        return list(self.addresses.get(name, []))

    def delete_address(self, name: str, cidr: str) -> None:
        self.calls.append(("deladdr", name, cidr))
        self.addresses.get(name, []).remove(cidr)

    def link_names(self) -> list[str]:
        return sorted(self.links)

    def add_veth(self, bridge: str, host_name: str, iface: Any) -> None:
        self.calls.append(("veth", bridge, host_name, iface.address, iface.gateway))
        self.links.add(host_name)

    def add_macvlan(self, parent: str, mode: str, tmp_name: str, iface: Any) -> None:
        self.calls.append(("macvlan", parent, iface.address))

    def create_netns(self, path: str) -> None:
        self.calls.append(("netns", path))

    def remove_netns(self, path: str) -> None:
        self.calls.append(("rmnetns", path))

    def route_networks(self) -> list[ipaddress.IPv4Network]:
        return [ipaddress.IPv4Network("10.99.0.0/24")]

    def set_sysctl(self, key: str, value: str) -> None:
        self.calls.append(("sysctl", key, value))


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None:
        self.seen.append((type_, action))


@pytest.fixture()
def svc(tmp_path):
    cfg = NetworkConfig(prefix="dyu", bridge="dyu0", pools=[ipam.Pool(ipaddress.IPv4Network("10.99.0.0/16"), 24)])
    s = NetworkService(cfg, NetworkStore(Database(tmp_path / "m.db")), FakeNet(), Firewall(FakeNft(None), "dyu"),
                       Events())
    s.load()
    return s


def _container(cid: str, name: str, mode: str = "default", **host: Any) -> Any:
    return SimpleNamespace(id=cid * 64, name=name, config={"Hostname": name}, network_settings={},
                           host_config={"NetworkMode": mode, **host}, state=SimpleNamespace(running=False, pid=0))


def test_predefined_networks_and_default_subnet_avoid_routes(svc) -> None:
    names = sorted(n.name for n in svc.networks.values())
    assert names == ["bridge", "host", "none"]
    assert svc.get("bridge").config[0]["Subnet"] == "10.99.1.0/24"  # 10.99.0.0/24 is a host route
    assert ("sysctl", "net.ipv4.ip_forward", "1") in svc.net.calls


def test_create_errors(svc) -> None:
    async def go() -> None:
        n = await svc.create({"Name": "app", "IPAM": {"Config": [{"Subnet": "10.50.0.0/24"}]}})
        assert n.iface.startswith("dyu-") and len(n.iface) <= 15
        with pytest.raises(errors.Conflict):
            await svc.create({"Name": "app"})
        with pytest.raises(errors.Forbidden, match="overlaps"):
            await svc.create({"Name": "b", "IPAM": {"Config": [{"Subnet": "10.50.0.128/25"}]}})
        with pytest.raises(errors.NotFound, match="plugin"):
            await svc.create({"Name": "c", "Driver": "nope"})
        with pytest.raises(errors.Forbidden):
            await svc.create({"Name": "d", "Driver": "host"})
        with pytest.raises(errors.InvalidParameter):
            await svc.create({"Name": "e", "IPAM": {"Config": [{"Subnet": "10.60.0.0/24", "Gateway": "10.61.0.1"}]}})
        with pytest.raises(errors.Forbidden, match="pre-defined"):
            await svc.remove("bridge")
        with pytest.raises(errors.NotFound, match="network zzz not found"):
            svc.get("zzz")
        assert sorted(n.name for n in svc.networks.values()) == ["app", "bridge", "host", "none"]
        await svc.remove("app")
        assert ("del", n.iface) in svc.net.calls
    asyncio.run(go())


def test_container_lifecycle_allocates_and_releases(svc, tmp_path) -> None:
    async def go() -> None:
        seam = ContainerNetworking(svc, tmp_path / "exec")
        await svc.create({"Name": "app", "IPAM": {"Config": [{"Subnet": "10.50.0.0/24"}]}})
        a = _container("a", "a", "app")
        seam.plan(a, {"EndpointsConfig": {"app": {"Aliases": ["web"], "IPAMConfig": {"IPv4Address": "10.50.0.9"}}}})
        b = _container("b", "b", "app")
        seam.plan(b, {})
        with pytest.raises(errors.InvalidParameter):
            seam.plan(_container("c", "c", "app"), {"EndpointsConfig": {"app": {"IPAMConfig": {"IPv4Address": "10.9.9.9"}}}})
        with pytest.raises(errors.InvalidParameter):
            seam.plan(_container("c", "c"), {"EndpointsConfig": {"bridge": {"Aliases": ["x"]}}})
        with pytest.raises(errors.InvalidParameter, match="network nosuch not found"):
            seam.plan(_container("c", "c", "nosuch"), {})
        seam._start_dns = _noop  # type: ignore[method-assign]  # needs a real namespace
        await seam.setup(a)
        await seam.setup(b)
        assert a.network_settings["Networks"]["app"]["IPAddress"] == "10.50.0.9"
        assert b.network_settings["Networks"]["app"]["IPAddress"] == "10.50.0.2"
        assert seam.resolve(b.id, "web") == ["10.50.0.9"] and seam.resolve(b.id, "a") == ["10.50.0.9"]
        assert seam.resolve(b.id, "nothing") is None
        with pytest.raises(errors.Forbidden, match="active endpoints"):
            await svc.remove("app")
        c = _container("c", "c", "app")
        seam.plan(c, {"EndpointsConfig": {"app": {"IPAMConfig": {"IPv4Address": "10.50.0.9"}}}})
        with pytest.raises(errors.Conflict, match="Address already in use"):
            await seam.setup(c)
        await seam.teardown(a)
        await seam.teardown(b)
        assert not svc.endpoints and not svc.store.endpoints()
        assert a.network_settings["Networks"]["app"]["IPAddress"] == ""
        await svc.remove("app")
    asyncio.run(go())


def test_published_port_binds_and_conflicts(svc, tmp_path) -> None:
    async def go() -> None:
        seam = ContainerNetworking(svc, tmp_path / "exec")
        a = _container("a", "a", PortBindings={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]})
        seam.plan(a, {})
        await seam.setup(a)
        port = a.network_settings["Ports"]["80/tcp"][0]["HostPort"]
        assert int(port) > 0
        b = _container("b", "b", PortBindings={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": port}]})
        seam.plan(b, {})
        with pytest.raises(errors.SystemFailure, match="port is already allocated"):
            await seam.setup(b)
        assert [e for e in svc.endpoints.values() if e.container_id == b.id] == []
        assert "b" * 64 not in svc.published
        await seam.teardown(a)
        assert not svc.published
    asyncio.run(go())


async def _noop(c: Any) -> None:
    return None


def test_daemon_json_keys() -> None:
    cfg = from_daemon_json({"network-prefix": "dyt12ab", "default-address-pools": [{"base": "10.7.0.0/16", "size": 24}]})
    assert cfg.table == "dyt12ab" and cfg.bridge == "dyt12ab0" and cfg.pools[0].size == 24
    assert from_daemon_json({}).table == "dockyard"
    with pytest.raises(errors.InvalidParameter):
        from_daemon_json({"network-prefix": "BAD!"})


def test_dns_answers_ours_and_forwards_the_rest() -> None:
    async def go() -> None:
        upstream = DnsServer(lambda name: ["192.0.2.77"] if name == "example.org" else None, lambda: [])
        loop = asyncio.get_running_loop()
        import socket
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        t = await upstream.serve(sock)
        port = sock.getsockname()[1]
        server = DnsServer(lambda name: ["10.1.0.5"] if name == "db" else None, lambda: ["127.0.0.1"])
        import dns.asyncquery
        orig = dns.asyncquery.udp

        async def udp(q, where, timeout=None, **kw):  # the upstream on a test port
            return await orig(q, where, timeout=timeout, port=port)
        dns.asyncquery.udp = udp
        try:
            r = dns.message.from_wire(await server.answer(dns.message.make_query("db.", "A").to_wire()))
            assert r.answer[0][0].address == "10.1.0.5"
            r = dns.message.from_wire(await server.answer(dns.message.make_query("example.org.", "A").to_wire()))
            assert r.answer[0][0].address == "192.0.2.77"
        finally:
            dns.asyncquery.udp = orig
            t.close()
        assert loop
    asyncio.run(go())


def test_an_existing_default_bridge_is_adopted_and_stale_pool_addresses_dropped(tmp_path):
    net = FakeNet()
    net.links.add("dyu0")
    net.addresses["dyu0"] = ["10.99.5.1/24", "10.99.6.1/24", "192.0.2.1/24"]  # last one: not ours
    cfg = NetworkConfig(prefix="dyu", bridge="dyu0", pools=[ipam.Pool(ipaddress.IPv4Network("10.99.0.0/16"), 24)])
    s = NetworkService(cfg, NetworkStore(Database(tmp_path / "m.db")), net, Firewall(FakeNft(None), "dyu"),
                       Events())
    s.load()
    assert s.get("bridge").config == [{"Subnet": "10.99.5.0/24", "Gateway": "10.99.5.1"}]
    assert net.addresses["dyu0"] == ["10.99.5.1/24", "192.0.2.1/24"]
