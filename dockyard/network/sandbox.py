"""The container side of networking: plan at create, set up before the runtime, tear down at exit.

This is the seam ContainerService calls; containers are duck-typed (id, name, config, host_config,
network_settings, state) so that this component does not import the containers service.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path
from typing import Any, Callable

from .. import errors
from ..linux.netlink import netns_socket
from . import dns, ipam, ports
from .model import Endpoint, Network, empty_settings
from .proxy import Proxy, bind_socket
from .service import NetworkService

log = logging.getLogger("dockyard.network")
SHARED = ("host", "none")


def _mode(c: Any) -> str:
    mode = c.host_config.get("NetworkMode") or "default"
    return "bridge" if mode == "default" else mode


class ContainerNetworking:
    def __init__(self, networks: NetworkService, exec_root: Path,
                 lookup: Callable[[str], Any] | None = None) -> None:
        self.svc = networks
        self.netns_dir = exec_root / "netns"
        self.lookup: Callable[[str], Any] = lookup or (lambda ref: (_ for _ in ()).throw(
            errors.NotFound(f"No such container: {ref}")))
        self._proxies: dict[str, list[Proxy]] = {}
        self._dns: dict[str, asyncio.DatagramTransport] = {}

    # create --------------------------------------------------------------------------------
    def plan(self, c: Any, networking_config: Any) -> None:
        """Validate the network settings of a new container and record its attachments.

        A missing network or container is a 400 here, not a 404: on a 404 from create the docker
        CLI concludes that the image is missing and tries to pull it.
        """
        try:
            self._plan(c, networking_config)
        except errors.NotFound as e:
            raise errors.InvalidParameter(e.message) from None

    def _plan(self, c: Any, networking_config: Any) -> None:
        ports.validate(c.config, c.host_config)
        mode = _mode(c)
        settings: dict[str, Any] = {"Networks": {}, "Ports": {}, "SandboxKey": ""}
        if mode.startswith("container:"):
            target = self.lookup(mode.partition(":")[2])
            if target.id == c.id:
                raise errors.InvalidParameter("cannot join own network namespace")
        else:
            n = self.svc.get(mode)
            endpoints = (networking_config or {}).get("EndpointsConfig") or {} \
                if isinstance(networking_config, dict) else {}
            cfg = endpoints.get(n.name) or endpoints.get(n.id) or endpoints.get(mode) or {}
            settings["Networks"][n.name] = self._endpoint_config(n, cfg)
        c.network_settings = settings

    def _endpoint_config(self, n: Network, cfg: Any) -> dict[str, Any]:
        if not isinstance(cfg, dict):
            raise errors.InvalidParameter("invalid endpoint settings")
        ipam_cfg = cfg.get("IPAMConfig") or {}
        aliases = [a for a in cfg.get("Aliases") or [] if a]
        wanted = ipam_cfg.get("IPv4Address") if isinstance(ipam_cfg, dict) else None
        if n.driver in ("host", "null") and (wanted or aliases):
            raise errors.InvalidParameter("network-scoped aliases and static addresses are not "
                                          f"supported on the {n.name} network")
        if n.name == "bridge" and wanted:
            raise errors.InvalidParameter("user specified IP address is supported on user defined networks only")
        if n.name == "bridge" and aliases:
            raise errors.InvalidParameter("network-scoped alias is supported only for containers in "
                                          "user defined networks")
        if wanted:
            subnet = n.subnet()
            assert subnet is not None
            subnet.check_requested(ipam.parse_addr(wanted, "IPv4 address"))
        return {**empty_settings(), "IPAMConfig": {"IPv4Address": wanted} if wanted else None,
                "Aliases": aliases or None, "NetworkID": n.id}

    # start -----------------------------------------------------------------------------------
    async def setup(self, c: Any) -> None:
        """Give a starting container its network; on failure leave nothing behind."""
        mode = _mode(c)
        settings = c.network_settings or {"Networks": {}}
        settings.setdefault("Networks", {})
        c.network_settings = settings
        if mode == "host":
            return
        if mode.startswith("container:"):
            target = self.lookup(mode.partition(":")[2])
            if not target.state.running:
                raise errors.Conflict(f"cannot join network of a non running container: {target.id}")
            key = (target.network_settings or {}).get("SandboxKey") or f"/proc/{target.state.pid}/ns/net"
            settings["SandboxKey"] = key
            settings["Hosts"] = (target.network_settings or {}).get("Hosts") or []
            settings["Nameservers"] = (target.network_settings or {}).get("Nameservers")
            return
        nets = [self.svc.get(name) for name in settings["Networks"]]
        if all(not self.svc.drivers[n.driver].own_netns for n in nets):
            return  # none: the runtime makes a namespace with loopback only
        path = str(self.netns_dir / c.id)
        try:
            await asyncio.to_thread(self.svc.net.create_netns, path)
            settings["SandboxKey"] = path
            for n in nets:
                await self._join(c, n, settings["Networks"][n.name])
            await self._publish(c)
            await self._start_dns(c)
        except BaseException:
            await self.teardown(c)
            raise
        self._refresh(c)

    async def _join(self, c: Any, n: Network, cfg: dict[str, Any]) -> Endpoint:
        driver = self.svc.drivers[n.driver]
        used = {e.ifname for e in self.svc.endpoints.values() if e.container_id == c.id}
        ifname = next(f"eth{i}" for i in range(64) if f"eth{i}" not in used)
        async with self.svc.lock:
            subnet = n.subnet()
            assert subnet is not None
            taken = {ipam.parse_addr(e.ip) for e in self.svc.endpoints_of(n) if e.ip}
            wanted = (cfg.get("IPAMConfig") or {}).get("IPv4Address")
            addr = await asyncio.to_thread(self.svc.ipam_of(n.ipam_driver).request_address, subnet, taken,
                                           ipam.parse_addr(wanted) if wanted else None)
            prefix = self.svc.cfg.prefix
            e = Endpoint(id=secrets.token_hex(32), network_id=n.id, container_id=c.id, name=c.name,
                         aliases=list(cfg.get("Aliases") or []), ip=str(addr),
                         prefixlen=subnet.subnet.prefixlen, gateway=str(subnet.gateway),
                         mac=ipam.mac_for(addr), ifname=ifname, netns=c.network_settings["SandboxKey"],
                         host_if=f"{prefix}v{secrets.token_hex(6)}"[:15])
            self.svc.store.add_endpoint(e)
            self.svc.endpoints[e.id] = e
        try:
            await asyncio.to_thread(driver.join, n, e)
        except BaseException:
            await self._leave(n, e)
            raise
        self.svc.event(n, "connect", container=c.id)
        return e

    async def _leave(self, n: Network | None, e: Endpoint) -> None:
        async with self.svc.lock:
            if n is not None:
                try:
                    await asyncio.to_thread(self.svc.drivers[n.driver].leave, n, e)
                except Exception:
                    log.exception("could not remove the interface of endpoint %s", e.id[:12])
                await asyncio.to_thread(self._release_address, n, e)
            self.svc.endpoints.pop(e.id, None)
            self.svc.store.remove_endpoint(e)

    def _release_address(self, n: Network, e: Endpoint) -> None:
        """(blocking) Give an IPAM plugin the endpoint's address back."""
        s = n.subnet()
        try:
            release = getattr(self.svc.ipam_of(n.ipam_driver), "release_address", None)
            if release is not None and s is not None and e.ip:
                release(s, ipam.parse_addr(e.ip))
        except errors.DockyardError as err:
            log.warning("endpoint %s: releasing its address: %s", e.id[:12], err.message)

    async def _publish(self, c: Any) -> None:
        wanted = ports.bindings(c.config, c.host_config)
        gateway = next((e for e in self.svc.endpoints.values() if e.container_id == c.id
                        and self.svc.networks[e.network_id].driver == "bridge"), None)
        if not wanted or gateway is None:
            return
        proxies: list[Proxy] = []
        self._proxies[c.id] = proxies
        records = []
        for b in wanted:
            try:
                sock = bind_socket(b.proto, b.host_ip, b.host_port, b.host_port_end)
            except errors.DockyardError as e:
                raise errors.SystemFailure(f"driver failed programming external connectivity on endpoint "
                                          f"{c.name} ({gateway.id}): {e.message}") from None
            p = Proxy(sock, b.proto, gateway.ip, b.container_port)
            proxies.append(p)
            if b.proto in ("tcp", "udp"):
                await p.start()
            actual = ports.Binding(b.proto, b.container_port, b.host_ip, p.port)
            records.append({"binding": actual.to_record(), "network_id": gateway.network_id})
        async with self.svc.lock:
            self.svc.published[c.id] = records
            self.svc.store.set_published(c.id, records)
            await asyncio.to_thread(self.svc.apply_firewall)

    async def _start_dns(self, c: Any) -> None:
        mine = [e for e in self.svc.endpoints.values() if e.container_id == c.id]
        if not any(self.svc.networks[e.network_id].dns for e in mine) or c.id in self._dns:
            return
        import socket

        sock = await asyncio.to_thread(netns_socket, c.network_settings["SandboxKey"],
                                       socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((dns.ADDRESS, 53))
        except OSError:
            sock.close()
            raise
        upstream = list(c.host_config.get("Dns") or [])
        server = dns.DnsServer(lambda name: self.resolve(c.id, name),
                               lambda: upstream or [str(a) for a in ipam.host_nameservers()])
        self._dns[c.id] = await server.serve(sock)

    def resolve(self, cid: str, name: str) -> list[str] | None:
        """Addresses of `name` on the DNS-enabled networks `cid` is on, or None."""
        nets = {e.network_id for e in self.svc.endpoints.values()
                if e.container_id == cid and self.svc.networks[e.network_id].dns}
        found = []
        for e in self.svc.endpoints.values():
            if e.network_id in nets and e.ip and (
                    name in (e.name.lower(), e.container_id[:12], e.container_id)
                    or name in (a.lower() for a in e.aliases)):
                found.append(e.ip)
        return sorted(set(found)) or None

    def _refresh(self, c: Any) -> None:
        """NetworkSettings from the live endpoints (Docker's Networks, Ports, and our /etc data)."""
        s = c.network_settings
        mine = {e.network_id: e for e in self.svc.endpoints.values() if e.container_id == c.id}
        hosts = []
        for name, cfg in list(s.get("Networks", {}).items()):
            e = mine.get(cfg.get("NetworkID", ""))
            keep = {"IPAMConfig": cfg.get("IPAMConfig"), "Aliases": cfg.get("Aliases"),
                    "NetworkID": cfg.get("NetworkID", "")}
            if e is not None:
                if self.svc.networks[e.network_id].dns:  # Docker lists the short ID as an alias
                    keep["Aliases"] = [e.container_id[:12], *e.aliases]
                s["Networks"][name] = e.settings(keep)
                hosts.append([e.ip, [c.config.get("Hostname") or c.id[:12]]])
            else:
                s["Networks"][name] = {**empty_settings(), **keep}
        published = [ports.Binding.from_record(r["binding"]) for r in self.svc.published.get(c.id, [])]
        s["Ports"] = ports.inspect_ports(c.config, published) if mine else {}
        s["Published"] = [b.to_record() for b in published]
        s["Hosts"] = hosts[:1]
        dns_on = any(self.svc.networks[nid].dns for nid in mine)
        s["Nameservers"] = [dns.ADDRESS] if dns_on else None

    # exit ------------------------------------------------------------------------------------
    async def teardown(self, c: Any) -> None:
        """Undo setup (idempotent): proxies, DNS, endpoints, published rules, the namespace."""
        for p in self._proxies.pop(c.id, []):
            await p.stop()
        t = self._dns.pop(c.id, None)
        if t is not None:
            t.close()
        for e in [e for e in self.svc.endpoints.values() if e.container_id == c.id]:
            n = self.svc.networks.get(e.network_id)
            await self._leave(n, e)
            if n is not None:
                self.svc.event(n, "disconnect", container=c.id)
        async with self.svc.lock:
            if self.svc.published.pop(c.id, None) is not None:
                self.svc.store.set_published(c.id, None)
            await asyncio.to_thread(self.svc.apply_firewall)
        path = str(self.netns_dir / c.id)
        await asyncio.to_thread(self.svc.net.remove_netns, path)
        if c.network_settings:
            c.network_settings["SandboxKey"] = ""
            self._refresh(c)
            c.network_settings["Ports"] = {}

    # restart ---------------------------------------------------------------------------------
    async def restore(self, running: dict[str, Any]) -> None:
        """After a daemon restart: keep running containers' networks, drop every stale one."""
        stale = {e.container_id for e in self.svc.endpoints.values()} | set(self.svc.published)
        stale -= set(running)
        for cid in stale:
            await self.teardown(_Gone(cid))
        for entry in Path(self.netns_dir).glob("*") if self.netns_dir.exists() else []:
            if entry.name not in running:
                await asyncio.to_thread(self.svc.net.remove_netns, str(entry))
        for cid, c in running.items():
            try:
                await self._reproxy(c)
                if (c.network_settings or {}).get("SandboxKey", "").startswith(str(self.netns_dir)):
                    await self._start_dns(c)
            except Exception:
                log.exception("could not restore the network of %s", cid)
        await asyncio.to_thread(self.svc.apply_firewall)

    async def _reproxy(self, c: Any) -> None:
        by_key = {(e.container_id, e.network_id): e for e in self.svc.endpoints.values()}
        proxies = []
        for rec in self.svc.published.get(c.id, []):
            b = ports.Binding.from_record(rec["binding"])
            e = by_key.get((c.id, rec["network_id"]))
            if e is None:
                continue
            p = Proxy(bind_socket(b.proto, b.host_ip, b.host_port), b.proto, e.ip, b.container_port)
            if b.proto in ("tcp", "udp"):
                await p.start()
            proxies.append(p)
        self._proxies[c.id] = proxies

    # connect / disconnect -----------------------------------------------------------------------
    async def connect(self, ref: str, c: Any, endpoint_config: Any) -> None:
        mode = _mode(c)
        n = self.svc.get(ref)
        if mode.startswith("container:") or mode in SHARED or n.driver in ("host", "null"):
            raise errors.Forbidden("container sharing network namespace with another container or "
                                   "host cannot be connected to any other network")
        settings = c.network_settings or {"Networks": {}}
        c.network_settings = settings
        if n.name in settings.setdefault("Networks", {}):
            raise errors.Forbidden(f"endpoint with name {c.name} already exists in network {n.name}")
        cfg = self._endpoint_config(n, endpoint_config or {})
        settings["Networks"][n.name] = cfg
        if c.state.running and settings.get("SandboxKey"):
            try:
                await self._join(c, n, cfg)
                await self._start_dns(c)
            except BaseException:
                settings["Networks"].pop(n.name, None)
                raise
            self._refresh(c)
        elif not c.state.running:
            self.svc.event(n, "connect", container=c.id)

    async def disconnect(self, ref: str, c: Any, force: bool) -> None:
        settings = c.network_settings or {"Networks": {}}
        try:
            n = self.svc.get(ref)
            name = n.name
        except errors.NotFound:
            if not force or ref not in settings.get("Networks", {}):
                raise
            n, name = None, ref
        mode = _mode(c)
        if n is not None and n.driver in ("host", "null") or mode in SHARED:
            raise errors.Forbidden("container cannot be disconnected from host network or connected to host network")
        if name not in settings.get("Networks", {}):
            raise errors.Forbidden(f"container {c.id} is not connected to network {ref}")
        for e in [e for e in self.svc.endpoints.values() if e.container_id == c.id and n is not None
                  and e.network_id == n.id]:
            await self._leave(n, e)
        del settings["Networks"][name]
        if n is not None:
            async with self.svc.lock:
                await asyncio.to_thread(self.svc.apply_firewall)
            self.svc.event(n, "disconnect", container=c.id)
        if c.state.running:
            self._refresh(c)


class _Gone:
    """A container that is no longer running (or no longer exists), for teardown after a restart."""

    def __init__(self, cid: str) -> None:
        self.id = cid
        self.network_settings: dict[str, Any] = {}
