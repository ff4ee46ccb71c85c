"""The plugin system as the daemon assembles it: discovery from daemon.json's directories, one
registry of activated plugins, and the driver tables that put plugins beside the built-ins."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from ..linux.netlink import Netlink
from ..network.drivers import Driver
from ..network.ipam import IpamDriver
from ..volumes.driver import VolumeDriver
from .authz import Authorizer
from .config import PluginConfig, from_daemon_json
from .discovery import Discovery
from .ipam import PluginIpam
from .network import Links, PluginNetworkDriver
from .registry import PluginRegistry
from .table import DriverTable
from .volume import PluginVolumeDriver


class PluginSystem:
    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self.registry = PluginRegistry(Discovery(config.dirs), config.timing)
        self.tables: dict[str, DriverTable[Any]] = {}  # info's kind ("Volume", ...) -> table

    def volume_drivers(self, builtin: Mapping[str, VolumeDriver]) -> DriverTable[VolumeDriver]:
        table: DriverTable[VolumeDriver] = DriverTable(builtin, self.registry, "VolumeDriver",
                                                       PluginVolumeDriver)
        self.tables["Volume"] = table
        return table

    def network_drivers(self, builtin: Mapping[str, Driver], links: Links | None = None) -> DriverTable[Driver]:
        kernel = links or Netlink()
        table: DriverTable[Driver] = DriverTable(
            builtin, self.registry, "NetworkDriver", lambda name, p: PluginNetworkDriver(name, p, kernel))
        self.tables["Network"] = table
        return table

    def ipam_drivers(self, builtin: Mapping[str, IpamDriver]) -> DriverTable[IpamDriver]:
        table: DriverTable[IpamDriver] = DriverTable(builtin, self.registry, "IpamDriver", PluginIpam)
        self.tables["IPAM"] = table
        return table

    def authorizer(self) -> Authorizer:
        return Authorizer(self.registry, self.config.authz)

    def info_lists(self, static: Mapping[str, list[str]]) -> "InfoLists":
        return InfoLists(self, static)


class InfoLists(Mapping[str, list[str]]):
    """`info`'s Plugins lists, read when `info` asks: built-ins and the plugins activated so far."""

    def __init__(self, system: PluginSystem, static: Mapping[str, list[str]]) -> None:
        self._system = system
        self._static = dict(static)

    def __getitem__(self, kind: str) -> list[str]:
        if kind == "Authorization":
            return list(self._system.config.authz)
        table = self._system.tables.get(kind)
        if table is not None:
            return table.active()
        return self._static[kind]

    def __iter__(self) -> Iterator[str]:
        return iter({*self._static, *self._system.tables, "Authorization"})

    def __len__(self) -> int:
        return len(set(self))


def open_plugins(extra: Mapping[str, Any], authz_flags: list[str] | None = None) -> PluginSystem:
    return PluginSystem(from_daemon_json(extra, authz_flags))
