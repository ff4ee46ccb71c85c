"""Published and exposed ports: validate the Engine API's PortBindings/ExposedPorts, render them."""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import InvalidParameter

PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True)
class Binding:
    """One container port published on the host. host_port 0 until a port is picked."""
    proto: str
    container_port: int
    host_ip: str = ""          # "" = every address (0.0.0.0)
    host_port: int = 0
    host_port_end: int = 0     # a HostPort range "8000-8010": any one free port of it

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Binding":
        return cls(**r)

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 65535:
        raise InvalidParameter(f'invalid port specification: "{spec}"')
    return int(text)


def port_range(text: str, spec: str) -> tuple[int, int]:
    first, dash, last = text.partition("-")
    start = _port(first, spec)
    end = _port(last, spec) if dash else start
    if end < start:
        raise InvalidParameter(f'invalid port range: "{text}"')
    return start, end


def parse_key(key: str) -> list[tuple[int, str]]:
    """'80/tcp' -> [(80, 'tcp')]; '80-81/udp' -> two; no protocol means tcp."""
    if not isinstance(key, str):
        raise InvalidParameter(f'invalid port specification: "{key}"')
    text, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOCOLS:
        raise InvalidParameter(f'invalid proto: "{proto}"')
    start, end = port_range(text, key)
    return [(p, proto) for p in range(start, end + 1)]


def exposed(config: dict[str, Any]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for key in (config.get("ExposedPorts") or {}):
        out.extend(parse_key(key))
    return out


def bindings(config: dict[str, Any], host_config: dict[str, Any]) -> list[Binding]:
    """Every port to publish: PortBindings, and with PublishAllPorts every exposed port."""
    out: list[Binding] = []
    seen: set[tuple[int, str]] = set()
    port_bindings = host_config.get("PortBindings") or {}
    if not isinstance(port_bindings, dict):
        raise InvalidParameter("PortBindings must be an object")
    for key, items in port_bindings.items():
        ports = parse_key(key)
        for item in items or [{}]:
            if not isinstance(item, dict):
                raise InvalidParameter(f'invalid port binding for "{key}"')
            host_ip = item.get("HostIp") or ""
            if host_ip:
                try:
                    ipaddress.IPv4Address(host_ip)
                except ValueError:
                    raise InvalidParameter(f"invalid IP address: {host_ip}") from None
            host_port = str(item.get("HostPort") or "")
            start, end = port_range(host_port, host_port) if host_port else (0, 0)
            for i, (port, proto) in enumerate(ports):
                if len(ports) > 1 and start:
                    if end - start + 1 != len(ports):
                        raise InvalidParameter(f'invalid ranges specified for container and host '
                                               f'Ports: {key} and {host_port}')
                    out.append(Binding(proto, port, host_ip, start + i, 0))
                else:
                    out.append(Binding(proto, port, host_ip, start, end if end != start else 0))
                seen.add((port, proto))
    if host_config.get("PublishAllPorts"):
        for port, proto in exposed(config):
            if (port, proto) not in seen:
                out.append(Binding(proto, port))
    return out


def validate(config: dict[str, Any], host_config: dict[str, Any]) -> None:
    """The create-time check: a bad spec is a 400 before anything is made."""
    exposed(config)
    bindings(config, host_config)


def inspect_ports(config: dict[str, Any], published: list[Binding]) -> dict[str, Any]:
    """NetworkSettings.Ports: every exposed or published port; null when not published."""
    ports: dict[str, Any] = {}
    for port, proto in exposed(config):
        ports.setdefault(f"{port}/{proto}", None)
    for b in published:
        ports.setdefault(b.key, None)
        ports[b.key] = (ports[b.key] or []) + [{"HostIp": b.host_ip or "0.0.0.0",
                                                 "HostPort": str(b.host_port)}]
    return ports


def summary_ports(config: dict[str, Any], published: list[Binding]) -> list[dict[str, Any]]:
    """`Ports` of `GET /containers/json`."""
    out: list[dict[str, Any]] = []
    done = set()
    for b in published:
        out.append({"IP": b.host_ip or "0.0.0.0", "PrivatePort": b.container_port,
                    "PublicPort": b.host_port, "Type": b.proto})
        done.add((b.container_port, b.proto))
    for port, proto in exposed(config):
        if (port, proto) not in done:
            out.append({"PrivatePort": port, "Type": proto})
    return out
