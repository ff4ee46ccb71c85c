"""A NetworkDriver plugin (Docker's "remote" driver) as a `network.drivers.Driver`:
CreateNetwork / DeleteNetwork / CreateEndpoint / Join / Leave / DeleteEndpoint, with the
interface the plugin makes (Join's SrcName) moved into the container's namespace, renamed
DstPrefix+N, addressed and routed by the daemon, and moved back out on leave."""
from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from ..errors import SystemFailure
from ..linux.netlink import Iface
from ..network.model import Endpoint, Network
from ..network.rules import BridgeRules
from .client import PluginError
from .registry import Plugin

log = logging.getLogger("dockyard.plugins")


class Links(Protocol):
    def adopt_link(self, name: str, iface: Iface) -> None: ...
    def release_link(self, netns: str, name: str, host_name: str) -> None: ...


class PluginNetworkDriver:
    has_ipam = True
    own_netns = True

    def __init__(self, name: str, plugin: Plugin, links: Links) -> None:
        self.name = name
        self.plugin = plugin
        self.links = links
        self._lock = threading.Lock()
        self._created: set[str] = set()        # networks CreateNetwork was sent for (idempotent create)
        self._src: dict[str, str] = {}         # endpoint -> the plugin's name of its interface

    def _call(self, method: str, payload: dict[str, Any], optional: bool = False) -> dict[str, Any]:
        try:
            answer = self.plugin.call("NetworkDriver." + method, payload)
        except PluginError as e:
            if optional and e.status == 404:  # a method the plugin does not implement
                return {}
            raise
        if not isinstance(answer, dict):
            raise PluginError(f"NetworkDriver.{method}: plugin {self.name} answered {str(answer)[:80]}")
        return answer

    def capabilities(self) -> dict[str, Any]:
        return self._call("GetCapabilities", {})

    def create(self, n: Network) -> None:
        with self._lock:
            if n.id in self._created:
                return
        s = n.subnet()
        ipv4 = [] if s is None else [{"AddressSpace": "LocalDefault", "Pool": str(s.subnet),
                                      "Gateway": f"{s.gateway}/{s.subnet.prefixlen}", "AuxAddresses": {}}]
        self._call("CreateNetwork", {"NetworkID": n.id, "IPv4Data": ipv4, "IPv6Data": [],
                                     "Options": {"com.docker.network.enable_ipv6": False,
                                                 "com.docker.network.generic": dict(n.options)}})
        with self._lock:
            self._created.add(n.id)

    def delete(self, n: Network) -> None:
        self._call("DeleteNetwork", {"NetworkID": n.id})
        with self._lock:
            self._created.discard(n.id)

    def join(self, n: Network, e: Endpoint) -> None:
        ids = {"NetworkID": n.id, "EndpointID": e.id}
        self._call("CreateEndpoint", {**ids, "Options": {}, "Interface": {
            "Address": f"{e.ip}/{e.prefixlen}", "AddressIPv6": "", "MacAddress": e.mac}})
        try:
            joined = self._call("Join", {**ids, "SandboxKey": e.netns, "Options": {}})
            names = joined.get("InterfaceName") or {}
            src, prefix = names.get("SrcName"), names.get("DstPrefix") or "eth"
            if not isinstance(src, str) or not src:
                raise SystemFailure(f"NetworkDriver.Join: plugin {self.name} gave no InterfaceName.SrcName")
            gateway = "" if n.internal else str(joined.get("Gateway") or e.gateway)
            dst = str(prefix) + e.ifname.lstrip("abcdefghijklmnopqrstuvwxyz")  # eth0 -> <prefix>0
            try:
                self.links.adopt_link(src, Iface(e.netns, dst, e.mac, e.ip, e.prefixlen, gateway or None))
            except OSError as err:
                raise SystemFailure(f"could not move interface {src} of plugin {self.name} into the "
                                    f"container: {err.strerror or err}") from None
            e.ifname = dst
            with self._lock:
                self._src[e.id] = src
            self._call("ProgramExternalConnectivity", {**ids, "Options": {}}, optional=True)
        except BaseException:
            self._undo(n, e)
            raise

    def leave(self, n: Network, e: Endpoint) -> None:
        with self._lock:
            src = self._src.pop(e.id, None)
        if src is not None:
            try:
                self.links.release_link(e.netns, e.ifname, src)
            except OSError as err:
                log.warning("endpoint %s: moving %s back out: %s", e.id[:12], e.ifname, err)
        self._call("RevokeExternalConnectivity", {"NetworkID": n.id, "EndpointID": e.id}, optional=True)
        self._undo(n, e)

    def _undo(self, n: Network, e: Endpoint) -> None:
        ids = {"NetworkID": n.id, "EndpointID": e.id}
        for method in ("Leave", "DeleteEndpoint"):
            try:
                self._call(method, ids)
            except PluginError as err:
                log.warning("endpoint %s: %s", e.id[:12], err.message)

    def rules(self, n: Network) -> BridgeRules | None:
        return None  # the plugin owns its network's connectivity
