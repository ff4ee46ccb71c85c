"""An IpamDriver plugin as a `network.ipam.IpamDriver`: RequestPool / ReleasePool /
RequestAddress / ReleaseAddress (plus GetCapabilities, GetDefaultAddressSpaces).

The plugin keeps its own books, but the daemon still never uses a pool that overlaps a network
in use, a host route or a nameserver, nor an address it knows is taken: such an answer is held,
the plugin asked again, and what was held given back (a plugin that hands out pools in order
thus skips them, as the built-in IPAM does)."""
from __future__ import annotations

import ipaddress
from typing import Any, Iterable

from ..errors import Conflict, InvalidParameter, Unavailable
from ..network.ipam import DEFAULT_POOLS, Addr4, Net4, Pool, Subnet, check_overlap, parse_subnet
from .client import PluginError
from .registry import Plugin

GATEWAY_OPTION = "com.docker.network.gateway"
TRIES = 16  # answers to hold before giving up on a plugin that offers only pools in use


class PluginIpam:
    def __init__(self, name: str, plugin: Plugin) -> None:
        self.name = name
        self.plugin = plugin
        self._space: str | None = None

    def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.plugin.call("IpamDriver." + method, payload)
        if not isinstance(answer, dict):
            raise PluginError(f"IpamDriver.{method}: plugin {self.name} answered {str(answer)[:80]}")
        return answer

    def address_space(self) -> str:
        if self._space is None:
            spaces = self._call("GetDefaultAddressSpaces", {})
            self._space = str(spaces.get("LocalDefaultAddressSpace") or "local")
        return self._space

    def request_pool(self, requested: dict[str, str] | None, in_use: Iterable[Net4],
                     host_routes: Iterable[Net4], nameservers: Iterable[Addr4],
                     pools: Iterable[Pool] = DEFAULT_POOLS) -> Subnet:
        used, avoid, servers = list(in_use), [*in_use, *host_routes], list(nameservers)
        if requested and requested.get("Subnet"):
            # what the daemon can check is checked before the plugin hears of it
            wanted = Subnet.build(parse_subnet(requested["Subnet"]), requested.get("Gateway"),
                                  requested.get("IPRange"))
            check_overlap(wanted.subnet, used)
            return self._pool(str(wanted.subnet), str(wanted.ip_range or ""), requested.get("Gateway"))
        held: list[Subnet] = []
        try:
            for _ in range(TRIES):
                s = self._pool("", "", None)
                if any(s.subnet.overlaps(n) for n in avoid) or any(a in s.subnet for a in servers):
                    held.append(s)
                    continue
                return s
        except PluginError as e:
            raise Unavailable(f"could not find an available, non-overlapping IPv4 address pool: {e.message}") \
                from None
        finally:
            for s in held:
                self.release_pool(s)
        raise Unavailable("could not find an available, non-overlapping IPv4 address pool: "
                          f"plugin {self.name} offered only pools in use")

    def _pool(self, pool: str, sub_pool: str, gateway: str | None) -> Subnet:
        answer = self._call("RequestPool", {"AddressSpace": self.address_space(), "Pool": pool,
                                            "SubPool": sub_pool, "Options": {}, "V6": False})
        pool_id = str(answer.get("PoolID") or "")
        try:
            subnet = Net4(str(answer.get("Pool")), strict=False)
            data = answer.get("Data") or {}
            gw = gateway or (str(ipaddress.IPv4Interface(data[GATEWAY_OPTION]).ip)
                             if isinstance(data, dict) and data.get(GATEWAY_OPTION) else None)
            if gw is None:  # Docker asks for the gateway as an address of the pool
                got = self._call("RequestAddress", {"PoolID": pool_id, "Address": "",
                                                    "Options": {"RequestAddressType": GATEWAY_OPTION}})
                gw = str(ipaddress.IPv4Interface(str(got.get("Address"))).ip)
            s = Subnet.build(subnet, gw, sub_pool or None)
        except (ValueError, KeyError, InvalidParameter) as e:
            self._call("ReleasePool", {"PoolID": pool_id})
            raise PluginError(f"IpamDriver.RequestPool: plugin {self.name} answered a pool Dockyard "
                              f"cannot use ({answer}): {e}") from None
        s.pool_id = pool_id
        return s

    def release_pool(self, subnet: Subnet) -> None:
        self._call("ReleasePool", {"PoolID": subnet.pool_id or str(subnet.subnet)})

    def request_address(self, subnet: Subnet, taken: set[Addr4], requested: Addr4 | None = None) -> Addr4:
        if requested is not None:
            subnet.check_requested(requested)
            if requested in taken or requested == subnet.gateway:
                raise Conflict("Address already in use")
            return self._address(subnet, str(requested))
        held: list[Addr4] = []
        try:
            for _ in range(TRIES):
                addr = self._address(subnet, "")
                if addr in taken or addr == subnet.gateway:
                    held.append(addr)
                    continue
                return addr
        except PluginError as e:
            raise Unavailable(f"no available IPv4 addresses on this network's address pools: "
                              f"{subnet.subnet}: {e.message}") from None
        finally:
            for addr in held:
                self.release_address(subnet, addr)
        raise Unavailable(f"no available IPv4 addresses on this network's address pools: {subnet.subnet}")

    def _address(self, subnet: Subnet, address: str) -> Addr4:
        got = self._call("RequestAddress", {"PoolID": subnet.pool_id or str(subnet.subnet),
                                            "Address": address, "Options": {}})
        try:
            addr = ipaddress.IPv4Interface(str(got.get("Address"))).ip
        except ValueError:
            raise PluginError(f"IpamDriver.RequestAddress: plugin {self.name} answered {got}") from None
        if not subnet.contains(addr):
            raise PluginError(f"IpamDriver.RequestAddress: plugin {self.name} gave {addr}, "
                              f"outside {subnet.subnet}")
        return addr

    def release_address(self, subnet: Subnet, addr: Addr4) -> None:
        self._call("ReleaseAddress", {"PoolID": subnet.pool_id or str(subnet.subnet), "Address": str(addr)})
