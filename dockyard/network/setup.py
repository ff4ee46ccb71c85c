"""Builds the networking component from daemon.json: store, kernel, firewall, service, seam."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

from ..linux.netlink import Netlink
from ..linux.nft import Nftables
from ..store.db import Database
from .config import from_daemon_json
from .rules import Firewall
from .sandbox import ContainerNetworking
from .service import Events, NetworkService
from .store import NetworkStore


async def open_networking(extra: dict[str, Any], db: Database, exec_root: Path, events: Events,
                          lookup: Callable[[str], Any]) -> tuple[NetworkService, ContainerNetworking]:
    cfg = from_daemon_json(extra)
    svc = NetworkService(cfg, NetworkStore(db), Netlink(), Firewall(Nftables(), cfg.table), events)
    await asyncio.to_thread(svc.load)
    return svc, ContainerNetworking(svc, exec_root, lookup)
