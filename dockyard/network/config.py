"""The daemon.json keys of networking: bridge name, kernel object prefix, address pools, proxy."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidParameter
from .ipam import DEFAULT_POOLS, Pool

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{1,7}$")


@dataclass
class NetworkConfig:
    prefix: str = "dy"                 # every link, and the nftables table, is named from it
    bridge: str = "dockyard0"          # the default `bridge` network's Linux bridge
    pools: list[Pool] = field(default_factory=lambda: list(DEFAULT_POOLS))
    userland_proxy: bool = True
    ip_forward: bool = True
    mtu: int = 1500

    @property
    def table(self) -> str:
        return "dockyard" if self.prefix == "dy" else self.prefix


def from_daemon_json(extra: dict[str, Any]) -> NetworkConfig:
    """Read `network-prefix`, `bridge`, `default-address-pools`, `userland-proxy`, `ip-forward`, `mtu`."""
    cfg = NetworkConfig()
    prefix = extra.get("network-prefix")
    if prefix is not None:
        if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
            raise InvalidParameter(f"network-prefix must be 2-8 lowercase letters or digits, not {prefix!r}")
        cfg.prefix = prefix
        cfg.bridge = prefix + "0"
    bridge = extra.get("bridge")
    if bridge is not None:
        if not isinstance(bridge, str) or not 0 < len(bridge) <= 15 or "/" in bridge:
            raise InvalidParameter(f"bridge must be an interface name, not {bridge!r}")
        cfg.bridge = bridge
    pools = extra.get("default-address-pools")
    if pools is not None:
        if not isinstance(pools, list) or not pools:
            raise InvalidParameter("default-address-pools must be a non-empty array")
        cfg.pools = []
        for p in pools:
            try:
                base = ipaddress.IPv4Network(p["base"])
                size = int(p["size"])
            except (KeyError, TypeError, ValueError) as e:
                raise InvalidParameter(f"invalid default-address-pools entry {p!r}: {e}") from None
            if not base.prefixlen <= size <= 30:
                raise InvalidParameter(f"invalid default-address-pools entry {p!r}: size out of range")
            cfg.pools.append(Pool(base, size))
    for key, attr in (("userland-proxy", "userland_proxy"), ("ip-forward", "ip_forward")):
        if key in extra:
            if not isinstance(extra[key], bool):
                raise InvalidParameter(f"{key} must be a boolean")
            setattr(cfg, attr, extra[key])
    if "mtu" in extra:
        if not isinstance(extra["mtu"], int) or not 68 <= extra["mtu"] <= 65535:
            raise InvalidParameter("mtu must be a number between 68 and 65535")
        cfg.mtu = extra["mtu"]
    return cfg
