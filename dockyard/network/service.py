"""Networks: create, inspect, list, remove, prune; the predefined ones; the firewall's view of them."""
from __future__ import annotations

import builtins
import asyncio
import ipaddress
import logging
import re
import secrets
from typing import Any, Callable, Mapping, Protocol

from .. import errors
from ..linux.netlink import Net
from ..timefmt import parse_rfc3339, rfc3339
from . import ipam
from .config import NetworkConfig
from .drivers import Driver, builtin
from .drivers.bridge import NAME_OPTION
from .model import Endpoint, Network
from .rules import Firewall, Forward, Ruleset
from .store import NetworkStore

log = logging.getLogger("dockyard.network")
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class Events(Protocol):
    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None: ...


class NetworkService:
    def __init__(self, cfg: NetworkConfig, store: NetworkStore, net: Net, firewall: Firewall,
                 events: Events, drivers: Mapping[str, Driver] | None = None,
                 ipams: Mapping[str, ipam.IpamDriver] | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self.net = net
        self.firewall = firewall
        self.events = events
        self.drivers = drivers if drivers is not None else builtin(net, cfg.mtu)
        self.ipams = ipams if ipams is not None else {d.name: d for d in ipam.BUILTIN}
        self.lock = asyncio.Lock()            # IPAM and firewall changes happen one at a time
        self.networks: dict[str, Network] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.published: dict[str, list[dict[str, Any]]] = {}

    def ipam_of(self, name: str) -> ipam.IpamDriver:
        """The IPAM driver called `name` ("" is `default`); Docker's message for one not installed."""
        wanted = name or ipam.DefaultIpam.name
        found = self.ipams.get(wanted)
        if found is None:
            raise errors.NotFound(f'plugin "{wanted}" not found')
        return found

    def _local(self, n: Network) -> bool:
        """A network of a built-in driver (a plugin's network lives in the plugin: it is not
        made again at start-up, and has no firewall rules of ours)."""
        return n.driver in getattr(self.drivers, "builtins", self.drivers)

    def event(self, n: Network, action: str, **extra: str) -> None:
        self.events.publish("network", action, n.id, {"name": n.name, "type": n.driver, **extra})

    # start-up ----------------------------------------------------------------------------
    def load(self) -> None:
        """(blocking) Read the store, make the predefined networks, make every network's links."""
        if self.cfg.ip_forward:
            self.net.set_sysctl("net.ipv4.ip_forward", "1")
        self.networks = {n.id: n for n in self.store.networks()}
        self.endpoints = {e.id: e for e in self.store.endpoints()}
        self.published = self.store.published()
        names = {n.name for n in self.networks.values()}
        for name, driver in (("bridge", "bridge"), ("host", "host"), ("none", "null")):
            if name not in names:
                n = Network(id=secrets.token_hex(32), name=name, driver=driver, created=rfc3339())
                if driver == "bridge":
                    n.iface = self.cfg.bridge
                    n.options = {NAME_OPTION: self.cfg.bridge, "com.docker.network.bridge.default_bridge": "true",
                                 "com.docker.network.bridge.enable_icc": "true",
                                 "com.docker.network.bridge.enable_ip_masquerade": "true"}
                    n.config = [self._adopted_subnet(n.iface) or self._auto_subnet(n)]
                self.store.add_network(n)
                self.networks[n.id] = n
        for n in self.networks.values():
            if not self._local(n):
                continue
            try:
                self.drivers[n.driver].create(n)
                if n.driver == "bridge":
                    self._drop_stale_addresses(n)
            except Exception:
                log.exception("could not set up network %s", n.name)
        self.apply_firewall()

    # bridge address ownership: the host-wide lock on the prefix and bridge name (setup.py)
    # makes this daemon the only one using them, so addresses of its pools that no network
    # of its own explains were left by an earlier daemon of the same prefix.
    def _adopted_subnet(self, bridge: str) -> dict[str, str] | None:
        """The subnet of a bridge already there (a previous data root's), to reuse, not pile onto.

        Docker does the same with an existing docker0: its address becomes the bridge's.
        An address from our pools is preferred; one the user gave the bridge is used as is.
        """
        found = [ipaddress.IPv4Interface(a) for a in self.net.link_addresses(bridge)]
        usable = [a for a in found if a.network.prefixlen <= 30 and a.ip not in
                  (a.network.network_address, a.network.broadcast_address)]
        usable.sort(key=lambda a: not self._in_pools(a.network))
        if not usable:
            return None
        log.info("bridge %s already exists: adopting its address %s", bridge, usable[0])
        return {"Subnet": str(usable[0].network), "Gateway": str(usable[0].ip)}

    def _in_pools(self, net: ipaddress.IPv4Network) -> bool:
        return any(net.subnet_of(p.base) for p in self.cfg.pools)

    def _drop_stale_addresses(self, n: Network) -> None:
        """Remove the addresses from our pools on `n`'s bridge that are not its gateway."""
        s = n.subnet()
        if s is None:
            return
        own = f"{s.gateway}/{s.subnet.prefixlen}"
        for cidr in self.net.link_addresses(n.iface):
            if cidr != own and self._in_pools(ipaddress.IPv4Interface(cidr).network):
                log.warning("bridge %s: removing the stale address %s an earlier daemon left", n.iface, cidr)
                self.net.delete_address(n.iface, cidr)

    def _auto_subnet(self, n: Network) -> dict[str, str]:
        in_use = [ipaddress.IPv4Network(c["Subnet"]) for other in self.networks.values()
                  for c in other.config]
        s = self.ipam_of(n.ipam_driver).request_pool(None, in_use, self.net.route_networks(),
                                                     ipam.host_nameservers(), self.cfg.pools)
        return _config_of(s)

    # firewall ----------------------------------------------------------------------------
    def ruleset(self) -> Ruleset:
        rs = Ruleset()
        for n in sorted(self.networks.values(), key=lambda n: n.name):
            if not self._local(n):
                continue
            r = self.drivers[n.driver].rules(n)
            if r is not None:
                rs.bridges.append(r)
        by_key = {(e.container_id, e.network_id): e for e in self.endpoints.values()}
        for cid, records in sorted(self.published.items()):
            for rec in records:
                e = by_key.get((cid, rec["network_id"]))
                if e is None:
                    continue
                b = rec["binding"]
                rs.forwards.append(Forward(b["proto"], b["host_ip"], b["host_port"], e.ip,
                                           b["container_port"]))
        return rs

    def apply_firewall(self) -> None:
        """(blocking)"""
        self.firewall.apply(self.ruleset())

    # lookups -----------------------------------------------------------------------------
    def get(self, ref: str) -> Network:
        for n in self.networks.values():
            if n.name == ref or n.id == ref:
                return n
        found = [n for n in self.networks.values() if ref and n.id.startswith(ref)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise errors.InvalidParameter(f"network {ref} is ambiguous ({len(found)} matches found on name)")
        raise errors.NotFound(f"network {ref} not found")

    def endpoints_of(self, n: Network) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.network_id == n.id]

    def inspect(self, ref: str) -> dict[str, Any]:
        n = self.get(ref)
        return n.to_api(self.endpoints_of(n))

    def list(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for n in sorted(self.networks.values(), key=lambda n: n.created):
            if self._matches(n, filters):
                out.append(n.to_api(self.endpoints_of(n)))
        return out

    def _matches(self, n: Network, filters: dict[str, Any]) -> bool:
        for key, raw in filters.items():
            values = list(raw.keys()) if isinstance(raw, dict) else list(raw) if isinstance(raw, list) else [raw]
            if key == "name" and not any(v in n.name for v in values):
                return False
            if key == "id" and not any(n.id.startswith(v) for v in values):
                return False
            if key == "driver" and n.driver not in values:
                return False
            if key == "scope" and "local" not in values:
                return False
            if key == "type":
                bad = [v for v in values if v not in ("custom", "builtin")]
                if bad:
                    raise errors.InvalidParameter(f"invalid filter: 'type'='{bad[0]}'")
                if ("builtin" if n.predefined else "custom") not in values:
                    return False
            if key == "label":
                for v in values:
                    k, eq, val = v.partition("=")
                    if k not in n.labels or (eq and n.labels[k] != val):
                        return False
            if key == "dangling":
                want = values[0] in ("true", "1")
                if (not self.endpoints_of(n) and not n.predefined) != want:
                    return False
            if key == "until":
                if parse_rfc3339(n.created) >= _until(values[0]):
                    return False
            if key not in ("name", "id", "driver", "scope", "type", "label", "dangling", "until"):
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        return True

    # create ------------------------------------------------------------------------------
    async def create(self, body: Any) -> Network:
        if not isinstance(body, dict):
            raise errors.InvalidParameter("invalid network config")
        name = body.get("Name")
        if not name or not isinstance(name, str):
            raise errors.InvalidParameter("network name is required")
        if not NAME_RE.match(name):
            raise errors.InvalidParameter(f"invalid network name {name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
        driver = body.get("Driver") or "bridge"
        if driver in ("host", "null"):
            raise errors.Forbidden(f'only one instance of "{driver}" network is allowed')
        if driver not in self.drivers:
            raise errors.NotFound(f'plugin "{driver}" not found')
        if body.get("EnableIPv6"):
            raise errors.NotImplementedYet("IPv6 networks are not supported by Dockyard yet")
        async with self.lock:
            if any(n.name == name for n in self.networks.values()):
                raise errors.Conflict(f"network with name {name} already exists")
            n = Network(id=secrets.token_hex(32), name=name, driver=driver, created=rfc3339(),
                        internal=bool(body.get("Internal")), attachable=bool(body.get("Attachable")),
                        options=_str_map(body.get("Options"), "Options"),
                        labels=_str_map(body.get("Labels"), "Labels"))
            ipam_body = body.get("IPAM") or {}
            n.ipam_driver = self.ipam_of(ipam_body.get("Driver") or "").name  # NotFound if not registered
            n.ipam_options = _str_map(ipam_body.get("Options"), "IPAM.Options")
            n.config = [await asyncio.to_thread(self._subnet_config, ipam_body.get("Config") or [], n)]
            n.iface = await asyncio.to_thread(self._iface, n)
            driver_ = self.drivers[driver]
            try:
                await asyncio.to_thread(driver_.create, n)
            except BaseException:
                await asyncio.to_thread(self._release_pool, n)
                raise
            try:
                self.store.add_network(n)
                self.networks[n.id] = n
                await asyncio.to_thread(self.apply_firewall)
            except BaseException:
                self.networks.pop(n.id, None)
                try:
                    self.store.remove_network(n)
                except Exception:
                    pass
                await asyncio.to_thread(driver_.delete, n)
                await asyncio.to_thread(self._release_pool, n)
                raise
        self.event(n, "create")
        return n

    def _subnet_config(self, configs: Any, n: Network) -> dict[str, str]:
        if not isinstance(configs, list):
            raise errors.InvalidParameter("IPAM.Config must be an array")
        v4 = [c for c in configs if isinstance(c, dict) and ":" not in str(c.get("Subnet", ""))]
        if not v4 or not v4[0].get("Subnet"):
            if v4 and (v4[0].get("Gateway") or v4[0].get("IPRange")):
                raise errors.InvalidParameter("a subnet is required with a gateway or an ip-range")
            return self._auto_subnet(n)
        in_use = [ipaddress.IPv4Network(o["Subnet"]) for other in self.networks.values() for o in other.config]
        return _config_of(self.ipam_of(n.ipam_driver).request_pool(v4[0], in_use, [], []))

    def _release_pool(self, n: Network) -> None:
        """(blocking) Give an IPAM plugin its pool back."""
        release = getattr(self.ipam_of(n.ipam_driver), "release_pool", None)
        s = n.subnet()
        if release is not None and s is not None:
            try:
                release(s)
            except errors.DockyardError as e:
                log.warning("network %s: releasing its pool: %s", n.name, e.message)

    def _iface(self, n: Network) -> str:
        if n.driver == "macvlan":
            parent = n.options.get("parent") or self._default_route_iface()
            if parent not in self.net.link_names():
                raise errors.InvalidParameter(f"-o parent interface was not found on the host: {parent}")
            return parent
        if n.driver != "bridge":
            return ""
        name = n.options.get(NAME_OPTION) or f"{self.cfg.prefix}-{n.id[:14 - len(self.cfg.prefix)]}"
        if len(name) > 15:
            raise errors.InvalidParameter(f"bridge name {name} is longer than 15 characters")
        if any(o.iface == name for o in self.networks.values()):
            raise errors.Conflict(f"bridge name {name} is already used by another network")
        return name

    @staticmethod
    def _default_route_iface() -> str:
        try:
            with open("/proc/net/route") as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if parts[1] == "00000000":
                        return parts[0]
        except OSError:
            pass
        return "eth0"

    # remove ------------------------------------------------------------------------------
    async def remove(self, ref: str) -> None:
        async with self.lock:
            n = self.get(ref)
            if n.predefined:
                raise errors.Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
            if self.endpoints_of(n):
                raise errors.Forbidden(f"error while removing network: network {n.name} id {n.id} "
                                       "has active endpoints")
            self.store.remove_network(n)
            del self.networks[n.id]
            await asyncio.to_thread(self.drivers[n.driver].delete, n)
            await asyncio.to_thread(self._release_pool, n)
            await asyncio.to_thread(self.apply_firewall)
        self.event(n, "destroy")

    async def prune(self, filters: dict[str, Any]) -> builtins.list[str]:
        unknown = set(filters) - {"label", "label!", "until"}
        if unknown:
            raise errors.InvalidParameter(f"Invalid filter '{sorted(unknown)[0]}'")
        removed = []
        for n in list(self.networks.values()):
            if n.predefined or self.endpoints_of(n):
                continue
            if "until" in filters and not self._matches(n, {"until": filters["until"]}):
                continue
            if "label" in filters and not self._matches(n, {"label": filters["label"]}):
                continue
            if "label!" in filters:
                raw = filters["label!"]
                values = list(raw.keys()) if isinstance(raw, dict) else list(raw)
                if any(self._matches(n, {"label": [v]}) for v in values):
                    continue
            try:
                await self.remove(n.id)
                removed.append(n.name)
            except errors.DockyardError:
                continue
        return removed

    async def close(self) -> None:
        pass


def _config_of(s: ipam.Subnet) -> dict[str, str]:
    out = {"Subnet": str(s.subnet), "Gateway": str(s.gateway)}
    if s.ip_range:
        out["IPRange"] = str(s.ip_range)
    if s.pool_id:
        out["PoolID"] = s.pool_id
    return out


def _until(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return parse_rfc3339(value)


def _str_map(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise errors.InvalidParameter(f"json: cannot unmarshal into Go struct field {what} of type map[string]string")
    return dict(value)


ContainerLookup = Callable[[str], Any]
