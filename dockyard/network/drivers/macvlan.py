"""The macvlan driver: endpoints are macvlan links on a parent interface, on its own L2 segment."""
from __future__ import annotations

from ...linux.netlink import Iface, Net
from ..model import Endpoint, Network
from ..rules import BridgeRules

MODES = ("bridge", "private", "vepa", "passthru")


class MacvlanDriver:
    name = "macvlan"
    has_ipam = True
    own_netns = True

    def __init__(self, net: Net) -> None:
        self.net = net

    def create(self, n: Network) -> None:
        pass  # the parent link is the host's; nothing to make until an endpoint joins

    def delete(self, n: Network) -> None:
        pass

    def join(self, n: Network, e: Endpoint) -> None:
        mode = n.options.get("macvlan_mode", "bridge")
        self.net.add_macvlan(n.iface, mode, e.host_if,
                             Iface(e.netns, e.ifname, e.mac, e.ip, e.prefixlen,
                                   None if n.internal else e.gateway))

    def leave(self, n: Network, e: Endpoint) -> None:
        pass  # the link lives in the container's namespace and goes with it

    def rules(self, n: Network) -> BridgeRules | None:
        return None
