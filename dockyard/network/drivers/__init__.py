"""Network drivers, registered from this one list."""
from __future__ import annotations

from ...linux.netlink import Net
from .base import Driver
from .bridge import BridgeDriver
from .host import HostDriver, NullDriver
from .macvlan import MacvlanDriver


def builtin(net: Net, mtu: int = 1500) -> dict[str, Driver]:
    drivers: list[Driver] = [BridgeDriver(net, mtu), MacvlanDriver(net), HostDriver(), NullDriver()]
    return {d.name: d for d in drivers}
