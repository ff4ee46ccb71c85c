"""The network kernel layer on the real kernel: bridge, netns, veth, nftables table (root)."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: links, namespaces, nftables")


@pytest.fixture()
def prefix():
    p = f"dyt{secrets.token_hex(2)}"
    yield p
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(p):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", p], capture_output=True)


def test_bridge_netns_veth_and_cleanup(prefix, tmp_path) -> None:
    from pyroute2 import IPRoute

    from dockyard.linux.netlink import Iface, Netlink, in_thread, netns_socket

    net = Netlink()
    path = str(tmp_path / "netns" / "c1")
    net.ensure_bridge(prefix + "0", "10.201.77.1", 24)
    net.ensure_bridge(prefix + "0", "10.201.77.1", 24)  # idempotent
    net.create_netns(path)
    try:
        net.add_veth(prefix + "0", prefix + "v1", Iface(path, "eth0", "02:42:0a:c9:4d:02", "10.201.77.2", 24,
                                                         "10.201.77.1"))

        def inside() -> tuple[list[str], list[str]]:
            with IPRoute() as ip:
                names = [l.get_attr("IFLA_IFNAME") for l in ip.get_links()]
                addrs = [a.get_attr("IFA_ADDRESS") for a in ip.get_addr(family=socket.AF_INET)]
            return names, addrs

        names, addrs = in_thread(inside, path)
        assert "eth0" in names and "10.201.77.2" in addrs
        s = netns_socket(path, socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.11", 53))  # the embedded DNS address exists only in the container's loopback
        s.close()
        assert prefix + "v1" in net.link_names()
        # a TCP connection from the host to the namespace over the bridge
        srv = in_thread(lambda: socket.create_server(("10.201.77.2", 8099)), path)
        try:
            c = socket.create_connection(("10.201.77.2", 8099), timeout=3)
            c.close()
        finally:
            srv.close()
        net.delete_link(prefix + "v1")
        assert prefix + "v1" not in net.link_names()
    finally:
        net.remove_netns(path)
        net.delete_link(prefix + "0")
    assert not os.path.exists(path)
    assert not any(n.startswith(prefix) for n in net.link_names())


def test_firewall_table_apply_and_remove(prefix) -> None:
    from dockyard.linux.nft import Nftables
    from dockyard.network.rules import BridgeRules, Firewall, Forward, Ruleset

    fw = Firewall(Nftables(), prefix)
    fw.apply(Ruleset([BridgeRules(prefix + "0", "10.201.78.0/24")], [Forward("tcp", "", 18099, "10.201.78.2", 80)]))
    fw.apply(Ruleset([BridgeRules(prefix + "0", "10.201.78.0/24")], []))
    out = subprocess.run(["nft", "list", "table", "ip", prefix], capture_output=True, text=True).stdout
    assert "masquerade" in out and "dnat to" not in out
    fw.remove()
    fw.remove()
    r = subprocess.run(["nft", "list", "table", "ip", prefix], capture_output=True, text=True)
    assert r.returncode != 0
