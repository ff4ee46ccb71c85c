"""Links, addresses, routes and network namespaces through netlink (pyroute2), and net sysctls.

Namespace switches never happen in the daemon's own threads: a short-lived thread unshares or
joins a network namespace (a per-thread property), does its work there and ends. (pyroute2's own
netns helpers fork a child, whose signal handling would reach the daemon's asyncio wakeup fd.)
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, Protocol

import threading
from typing import Callable, TypeVar

from pyroute2 import IPRoute

logging.getLogger("pyroute2").setLevel(logging.WARNING)  # its debug output drowns the daemon log
from pyroute2.netlink.exceptions import NetlinkError

from .mount import MS_BIND, mount, umount
from .namespaces import CLONE_NEWNET, setns_path, unshare

T = TypeVar("T")
MNT_DETACH = 2


def in_thread(fn: Callable[[], T], netns: str | None = None, new: bool = False) -> T:
    """Run `fn` in a fresh thread that first joins `netns` (or unshares a new one), then ends."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            if new:
                unshare(CLONE_NEWNET)
            elif netns:
                setns_path(netns, CLONE_NEWNET)
            box["value"] = fn()
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=run, name="netns")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


@dataclass
class Iface:
    """The container side of an endpoint: moved into a namespace, renamed, addressed."""
    netns: str
    name: str              # inside the namespace (eth0, eth1, ...)
    mac: str
    address: str
    prefixlen: int
    gateway: str | None    # default route via this address, or none


class Net(Protocol):
    """The kernel calls the network drivers make (a recording fake implements it for unit tests)."""
    def ensure_bridge(self, name: str, address: str, prefixlen: int, mtu: int = 1500) -> None: ...
    def delete_link(self, name: str) -> None: ...
    def link_addresses(self, name: str) -> list[str]: ...
    def delete_address(self, name: str, cidr: str) -> None: ...
    def link_names(self) -> list[str]: ...
    def add_veth(self, bridge: str, host_name: str, iface: Iface) -> None: ...
    def add_macvlan(self, parent: str, mode: str, tmp_name: str, iface: Iface) -> None: ...
    def create_netns(self, path: str) -> None: ...
    def remove_netns(self, path: str) -> None: ...
    def route_networks(self) -> list[ipaddress.IPv4Network]: ...
    def set_sysctl(self, key: str, value: str) -> None: ...


def _ignore(codes: tuple[int, ...], fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return fn(*args, **kw)
    except NetlinkError as e:
        if e.code in codes:
            return None
        raise


class Netlink:
    """The real kernel."""

    def ensure_bridge(self, name: str, address: str, prefixlen: int, mtu: int = 1500) -> None:
        with IPRoute() as ip:
            found = ip.link_lookup(ifname=name)
            if not found:
                _ignore((errno.EEXIST,), ip.link, "add", ifname=name, kind="bridge")
                found = ip.link_lookup(ifname=name)
            idx = found[0]
            _ignore((errno.EEXIST,), ip.addr, "add", index=idx, address=address, prefixlen=prefixlen)
            ip.link("set", index=idx, state="up", mtu=mtu)

    def delete_link(self, name: str) -> None:
        with IPRoute() as ip:
            found = ip.link_lookup(ifname=name)
            if found:
                _ignore((errno.ENODEV,), ip.link, "del", index=found[0])

    def link_addresses(self, name: str) -> list[str]:
        """The IPv4 addresses of link `name` as "a.b.c.d/len" ([] if there is no such link)."""
        with IPRoute() as ip:
            found = ip.link_lookup(ifname=name)
            if not found:
                return []
            return [f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
                    for a in ip.get_addr(family=socket.AF_INET, index=found[0])]

    def delete_address(self, name: str, cidr: str) -> None:
        iface = ipaddress.IPv4Interface(cidr)
        with IPRoute() as ip:
            found = ip.link_lookup(ifname=name)
            if found:
                _ignore((errno.EADDRNOTAVAIL, errno.ENODEV), ip.addr, "del", index=found[0],
                        address=str(iface.ip), prefixlen=iface.network.prefixlen)

    def link_names(self) -> list[str]:
        with IPRoute() as ip:
            return [str(link.get_attr("IFLA_IFNAME")) for link in ip.get_links()]

    def add_veth(self, bridge: str, host_name: str, iface: Iface) -> None:
        tmp = host_name[:-1] + "p" if host_name[-1] != "p" else host_name[:-1] + "q"
        with IPRoute() as ip:
            master = ip.link_lookup(ifname=bridge)
            if not master:
                raise OSError(errno.ENODEV, f"bridge {bridge} does not exist")
            ip.link("add", ifname=host_name, kind="veth", peer={"ifname": tmp, "net_ns_fd": iface.netns})
            try:
                idx = ip.link_lookup(ifname=host_name)[0]
                ip.link("set", index=idx, master=master[0], state="up")
                self._configure(tmp, iface)
            except BaseException:
                _ignore((errno.ENODEV,), ip.link, "del", index=idx)
                raise

    def add_macvlan(self, parent: str, mode: str, tmp_name: str, iface: Iface) -> None:
        with IPRoute() as ip:
            link = ip.link_lookup(ifname=parent)
            if not link:
                raise OSError(errno.ENODEV, f"parent interface {parent} does not exist")
            ip.link("add", ifname=tmp_name, kind="macvlan", link=link[0], macvlan_mode=mode)
            try:
                ip.link("set", index=ip.link_lookup(ifname=tmp_name)[0], net_ns_fd=iface.netns)
            except BaseException:
                self.delete_link(tmp_name)
                raise
        self._configure(tmp_name, iface)

    def adopt_link(self, name: str, iface: Iface) -> None:
        """Move the host's link `name` (made by a network plugin) into `iface.netns`, then
        rename, address and route it there as `iface` says."""
        with IPRoute() as ip:
            found = ip.link_lookup(ifname=name)
            if not found:
                raise OSError(errno.ENODEV, f"interface {name} does not exist")
            ip.link("set", index=found[0], net_ns_fd=iface.netns)
        self._configure(name, iface)

    def release_link(self, netns: str, name: str, host_name: str) -> None:
        """Move link `name` out of `netns` back to the daemon's namespace as `host_name` (so the
        plugin that made it finds it again); nothing when the namespace or link is gone."""
        home = f"/proc/{os.getpid()}/ns/net"

        def move() -> None:
            with IPRoute() as ns:
                found = ns.link_lookup(ifname=name)
                if found:
                    ns.link("set", index=found[0], state="down")
                    ns.link("set", index=found[0], ifname=host_name)
                    ns.link("set", index=found[0], net_ns_fd=home)
        if os.path.exists(netns):
            in_thread(move, netns)

    @staticmethod
    def _configure(tmp: str, iface: Iface) -> None:
        in_thread(lambda: Netlink._configure_here(tmp, iface), iface.netns)

    @staticmethod
    def _configure_here(tmp: str, iface: Iface) -> None:
        with IPRoute() as ns:
            idx = ns.link_lookup(ifname=tmp)[0]
            ns.link("set", index=idx, ifname=iface.name, address=iface.mac)
            ns.addr("add", index=idx, address=iface.address, prefixlen=iface.prefixlen)
            ns.link("set", index=idx, state="up")
            lo = ns.link_lookup(ifname="lo")
            if lo:
                ns.link("set", index=lo[0], state="up")
            if iface.gateway:
                _ignore((errno.EEXIST,), ns.route, "add", dst="0.0.0.0/0", gateway=iface.gateway)

    def create_netns(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
        os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o444))

        def make() -> None:
            mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", path, None, MS_BIND)
            with IPRoute() as ns:
                ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")

        try:
            in_thread(make, new=True)
        except BaseException:
            self.remove_netns(path)
            raise

    def remove_netns(self, path: str) -> None:
        try:
            umount(path, MNT_DETACH)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.EINVAL):
                raise
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def route_networks(self) -> list[ipaddress.IPv4Network]:
        out = []
        with IPRoute() as ip:
            for r in ip.get_routes(family=socket.AF_INET):
                dst = r.get_attr("RTA_DST")
                if dst and r["dst_len"] > 0 and r.get_attr("RTA_TABLE") in (254, None):
                    out.append(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
        return out

    def set_sysctl(self, key: str, value: str) -> None:
        path = "/proc/sys/" + key.replace(".", "/")
        with open(path) as f:
            if f.read().strip() == value:
                return
        with open(path, "w") as f:
            f.write(value)


def netns_socket(path: str, family: int, type_: int) -> socket.socket:
    """A socket that lives in the namespace at `path` (it keeps that namespace wherever it is used)."""
    return in_thread(lambda: socket.socket(family, type_), path)
