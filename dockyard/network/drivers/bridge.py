"""The bridge driver: a Linux bridge per network, a veth pair per endpoint, NAT by the firewall."""
from __future__ import annotations

from ...linux.netlink import Iface, Net
from ..model import Endpoint, Network
from ..rules import BridgeRules

ICC_OPTION = "com.docker.network.bridge.enable_icc"
MASQ_OPTION = "com.docker.network.bridge.enable_ip_masquerade"
NAME_OPTION = "com.docker.network.bridge.name"


class BridgeDriver:
    name = "bridge"
    has_ipam = True
    own_netns = True

    def __init__(self, net: Net, mtu: int = 1500) -> None:
        self.net = net
        self.mtu = mtu

    def create(self, n: Network) -> None:
        s = n.subnet()
        assert s is not None
        self.net.ensure_bridge(n.iface, str(s.gateway), s.subnet.prefixlen, self.mtu)

    def delete(self, n: Network) -> None:
        self.net.delete_link(n.iface)

    def join(self, n: Network, e: Endpoint) -> None:
        self.net.add_veth(n.iface, e.host_if, Iface(e.netns, e.ifname, e.mac, e.ip, e.prefixlen,
                                                    None if n.internal else e.gateway))

    def leave(self, n: Network, e: Endpoint) -> None:
        self.net.delete_link(e.host_if)  # takes the container's end with it

    def rules(self, n: Network) -> BridgeRules | None:
        s = n.subnet()
        assert s is not None
        return BridgeRules(n.iface, str(s.subnet), n.internal,
                           icc=n.options.get(ICC_OPTION, "true") != "false",
                           masquerade=n.options.get(MASQ_OPTION, "true") != "false")
