"""Builds the networking component from daemon.json: store, kernel, firewall, service, seam."""
from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from ..errors import DockyardError

from ..linux.netlink import Netlink
from ..linux.nft import Nftables
from ..store.db import Database
from . import ipam
from .config import NetworkConfig, from_daemon_json
from .drivers import Driver, builtin
from .rules import Firewall
from .sandbox import ContainerNetworking
from .service import Events, NetworkService
from .store import NetworkStore


class DriverPlugins(Protocol):
    """Plugins beside the built-in drivers (the plugin system): each table takes the built-ins."""
    def network_drivers(self, builtin: Mapping[str, Driver]) -> Mapping[str, Driver]: ...
    def ipam_drivers(self, builtin: Mapping[str, ipam.IpamDriver]) -> Mapping[str, ipam.IpamDriver]: ...


async def open_networking(extra: dict[str, Any], db: Database, exec_root: Path, events: Events,
                          lookup: Callable[[str], Any], plugins: DriverPlugins | None = None,
                          ) -> tuple[NetworkService, ContainerNetworking]:
    cfg = from_daemon_json(extra)
    net = Netlink()
    drivers: Mapping[str, Driver] = builtin(net, cfg.mtu)
    ipams: Mapping[str, ipam.IpamDriver] = {d.name: d for d in ipam.BUILTIN}
    if plugins is not None:
        drivers, ipams = plugins.network_drivers(drivers), plugins.ipam_drivers(ipams)
    svc = NetworkService(cfg, NetworkStore(db), net, Firewall(Nftables(), cfg.table), events, drivers, ipams)
    await asyncio.to_thread(svc.load)
    return svc, ContainerNetworking(svc, exec_root, lookup)


LOCK_DIR = "/run/lock/dockyard"
_held: list[int] = []  # the locks live as long as the daemon (closing an fd releases its flock)


def claim_host_names(cfg: NetworkConfig, lock_dir: str = LOCK_DIR) -> None:
    """Refuse to start if another live daemon uses our network prefix or default bridge (call once).

    They name host-wide kernel objects (links, the nftables table), so two daemons sharing
    them would take each other's addresses and rules. A flock per name, held for the
    daemon's life, tells a live owner from one that is gone (a kill -9 releases it).
    """
    os.makedirs(lock_dir, mode=0o755, exist_ok=True)
    for kind, name in (("network-prefix", cfg.prefix), ("bridge", cfg.bridge)):
        path = os.path.join(lock_dir, f"{kind}-{name}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DockyardError(
                f"{kind} {name!r} is in use by another running dockyardd (pid {owner}): give each "
                f'daemon on this host its own "network-prefix" (and "bridge") in daemon.json') from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        _held.append(fd)
