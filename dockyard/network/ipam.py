"""IP address management: subnets from pools that avoid host routes and nameservers, and addresses."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Protocol

from ..errors import Conflict, Forbidden, InvalidParameter, NotFound, Unavailable

Net4 = ipaddress.IPv4Network
Addr4 = ipaddress.IPv4Address


@dataclass(frozen=True)
class Pool:
    base: Net4
    size: int  # prefix length of each subnet carved from base


# Docker's defaults: 172.17-31.0.0/16 as /16s, then 192.168.0.0/16 as /20s.
DEFAULT_POOLS = [Pool(Net4(f"172.{i}.0.0/16"), 16) for i in range(17, 32)] + \
    [Pool(Net4("192.168.0.0/16"), 20)]


def host_nameservers(resolv_conf: str = "/etc/resolv.conf") -> list[Addr4]:
    out = []
    try:
        with open(resolv_conf) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    try:
                        out.append(Addr4(parts[1]))
                    except ValueError:
                        pass  # IPv6 nameservers do not collide with v4 pools
    except OSError:
        pass
    return out


def pick_subnet(pools: Iterable[Pool], in_use: Iterable[Net4], host_routes: Iterable[Net4],
                nameservers: Iterable[Addr4]) -> Net4:
    """The first subnet of the pools that overlaps no network in use, no host route, no nameserver."""
    avoid = [*in_use, *host_routes]
    servers = list(nameservers)
    for pool in pools:
        for candidate in pool.base.subnets(new_prefix=pool.size):
            if any(candidate.overlaps(n) for n in avoid):
                continue
            if any(s in candidate for s in servers):
                continue
            return candidate
    raise Unavailable("could not find an available, non-overlapping IPv4 address pool among the "
                      "defaults to assign to the network")


def parse_subnet(value: str) -> Net4:
    try:
        net = Net4(value, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid CIDR address: {value}") from None
    if net.prefixlen > 30:
        raise InvalidParameter(f"subnet {value} is too small: at least a /30 is needed")
    return net


def check_overlap(subnet: Net4, in_use: Iterable[Net4]) -> None:
    if any(subnet.overlaps(n) for n in in_use):
        raise Forbidden("Pool overlaps with other one on this address space")


def parse_addr(value: str, what: str = "address") -> Addr4:
    try:
        return Addr4(value)
    except ValueError:
        raise InvalidParameter(f"invalid {what}: {value}") from None


@dataclass
class Subnet:
    """One network's IPv4 configuration: subnet, gateway, optional narrower allocation range."""
    subnet: Net4
    gateway: Addr4
    ip_range: Net4 | None = None
    pool_id: str = ""  # an IPAM plugin's name for the pool (RequestPool's PoolID), kept with the network

    @classmethod
    def build(cls, subnet: Net4, gateway: str | None, ip_range: str | None) -> "Subnet":
        gw = parse_addr(gateway, "gateway") if gateway else subnet.network_address + 1
        if gw not in subnet or gw in (subnet.network_address, subnet.broadcast_address):
            raise InvalidParameter(f"no matching subnet for gateway {gateway}")
        rng = None
        if ip_range:
            rng = parse_subnet(ip_range)
            if not rng.subnet_of(subnet):
                raise InvalidParameter(f"no matching subnet for range {ip_range}")
        return cls(subnet, gw, rng)

    def contains(self, addr: Addr4) -> bool:
        return addr in self.subnet and addr not in (self.subnet.network_address,
                                                    self.subnet.broadcast_address)

    def check_requested(self, addr: Addr4) -> None:
        if not self.contains(addr):
            raise InvalidParameter(f"no configured subnet or ip-range contain the IP address {addr}")

    def allocate(self, taken: set[Addr4], requested: Addr4 | None = None) -> Addr4:
        """`requested` if free, else the lowest free address of the range (never the gateway)."""
        if requested is not None:
            self.check_requested(requested)
            if requested in taken or requested == self.gateway:
                raise Conflict("Address already in use")
            return requested
        space = self.ip_range or self.subnet
        for addr in space.hosts() if space.prefixlen < 31 else space:
            if addr != self.gateway and addr not in taken and self.contains(addr):
                return addr
        raise Unavailable(f"no available IPv4 addresses on this network's address pools: {self.subnet}")


def mac_for(addr: Addr4) -> str:
    """Docker's convention: 02:42 then the four bytes of the IPv4 address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in addr.packed)


class IpamDriver(Protocol):
    """An IPAM driver (IPAM.Driver of a network create): a network's subnet, then endpoint addresses."""

    name: str

    def request_pool(self, requested: dict[str, str] | None, in_use: Iterable[Net4],
                     host_routes: Iterable[Net4], nameservers: Iterable[Addr4],
                     pools: Iterable[Pool] = DEFAULT_POOLS) -> Subnet:
        """The requested Subnet/Gateway/IPRange (checked against those in use), or one picked from pools."""

    def request_address(self, subnet: Subnet, taken: set[Addr4], requested: Addr4 | None = None) -> Addr4: ...

    # A driver that keeps its own books (an IPAM plugin) may also have release_pool(subnet) and
    # release_address(subnet, addr); the network service calls them when it has them.


class DefaultIpam:
    """Docker's built-in `default` IPAM: local pools, lowest free address first."""

    name = "default"

    def request_pool(self, requested: dict[str, str] | None, in_use: Iterable[Net4],
                     host_routes: Iterable[Net4], nameservers: Iterable[Addr4],
                     pools: Iterable[Pool] = DEFAULT_POOLS) -> Subnet:
        used = list(in_use)
        if not requested or not requested.get("Subnet"):
            return Subnet.build(pick_subnet(pools, used, host_routes, nameservers), None, None)
        s = Subnet.build(parse_subnet(requested["Subnet"]), requested.get("Gateway"), requested.get("IPRange"))
        check_overlap(s.subnet, used)
        return s

    def request_address(self, subnet: Subnet, taken: set[Addr4], requested: Addr4 | None = None) -> Addr4:
        return subnet.allocate(taken, requested)


BUILTIN: tuple[IpamDriver, ...] = (DefaultIpam(),)


def driver(name: str) -> IpamDriver:
    """The IPAM driver called `name` ("" is `default`); Docker's message for one not installed."""
    wanted = name or DefaultIpam.name
    for d in BUILTIN:
        if d.name == wanted:
            return d
    raise NotFound(f'plugin "{wanted}" not found')
