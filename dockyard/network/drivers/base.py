"""The network driver interface: what bridge, macvlan, host and null (and later overlay) provide."""
from __future__ import annotations

from typing import Protocol

from ..model import Endpoint, Network
from ..rules import BridgeRules


class Driver(Protocol):
    name: str
    has_ipam: bool      # its networks carry a subnet and give endpoints addresses
    own_netns: bool     # its containers get a namespace the daemon makes (host: the host's)

    def create(self, n: Network) -> None:
        """Make the network's kernel objects (idempotent: also called at daemon start)."""

    def delete(self, n: Network) -> None: ...

    def join(self, n: Network, e: Endpoint) -> None:
        """Put an interface for `e` into the namespace `e.netns`, addressed and routed."""

    def leave(self, n: Network, e: Endpoint) -> None: ...

    def rules(self, n: Network) -> BridgeRules | None:
        """What the firewall must do for this network (NAT, isolation), if anything."""
