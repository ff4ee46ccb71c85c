"""The host and null drivers: the host's own namespace, or a namespace with loopback only."""
from __future__ import annotations

from ..model import Endpoint, Network
from ..rules import BridgeRules


class _NoKernel:
    has_ipam = False
    own_netns = False

    def create(self, n: Network) -> None:
        pass

    def delete(self, n: Network) -> None:
        pass

    def join(self, n: Network, e: Endpoint) -> None:
        pass

    def leave(self, n: Network, e: Endpoint) -> None:
        pass

    def rules(self, n: Network) -> BridgeRules | None:
        return None


class HostDriver(_NoKernel):
    name = "host"


class NullDriver(_NoKernel):
    name = "null"
