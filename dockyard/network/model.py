"""Network and endpoint records, and their Engine API renderings."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from . import ipam

PREDEFINED = ("bridge", "host", "none")


@dataclass
class Network:
    id: str
    name: str
    driver: str                      # bridge | host | null | macvlan
    created: str
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)
    config: list[dict[str, str]] = field(default_factory=list)  # [{Subnet, Gateway, IPRange?}]
    iface: str = ""                  # the Linux bridge (bridge) or parent link (macvlan)

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def dns(self) -> bool:
        """User-defined networks resolve container names; the default bridge does not."""
        return self.name != "bridge" and self.driver in ("bridge", "macvlan")

    def subnet(self) -> ipam.Subnet | None:
        if not self.config:
            return None
        c = self.config[0]
        s = ipam.Subnet.build(ipam.parse_subnet(c["Subnet"]), c.get("Gateway"), c.get("IPRange"))
        s.pool_id = c.get("PoolID", "")
        return s

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Network":
        return cls(**r)

    def to_api(self, endpoints: list["Endpoint"], verbose: bool = True) -> dict[str, Any]:
        return {
            "Name": self.name, "Id": self.id, "Created": self.created, "Scope": "local",
            "Driver": self.driver, "EnableIPv6": self.enable_ipv6,
            "IPAM": {"Driver": self.ipam_driver, "Options": self.ipam_options or None,
                     "Config": [{k: v for k, v in c.items() if k != "PoolID"} for c in self.config]},
            "Internal": self.internal, "Attachable": self.attachable, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": {e.container_id: e.to_api() for e in endpoints} if verbose else {},
            "Options": dict(self.options), "Labels": dict(self.labels),
        }


@dataclass
class Endpoint:
    """A container's attachment to a network while it runs."""
    id: str
    network_id: str
    container_id: str
    name: str                        # the container's name, resolvable on the network
    aliases: list[str] = field(default_factory=list)
    ip: str = ""
    prefixlen: int = 0
    gateway: str = ""
    mac: str = ""
    host_if: str = ""                # the host side of the veth (bridge), "" otherwise
    ifname: str = ""                 # inside the container: eth0, eth1, ...
    netns: str = ""

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Endpoint":
        return cls(**r)

    def to_api(self) -> dict[str, Any]:
        return {"Name": self.name, "EndpointID": self.id, "MacAddress": self.mac,
                "IPv4Address": f"{self.ip}/{self.prefixlen}" if self.ip else "", "IPv6Address": ""}

    def settings(self, config: dict[str, Any]) -> dict[str, Any]:
        """The container's NetworkSettings.Networks[name] for this endpoint."""
        return {**empty_settings(), **config, "NetworkID": self.network_id, "EndpointID": self.id,
                "Gateway": self.gateway, "IPAddress": self.ip, "IPPrefixLen": self.prefixlen,
                "MacAddress": self.mac}


def empty_settings() -> dict[str, Any]:
    return {"IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "", "EndpointID": "",
            "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": None}
