"""Where and how to reach a registry: endpoints (mirrors first for docker.io), TLS, insecure hosts."""
from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InvalidParameter

DOCKER_HUB = "docker.io"
DOCKER_HUB_HOST = "registry-1.docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"
DEFAULT_CERTS_DIRS = (Path("/etc/docker/certs.d"), Path("/etc/dockyard/certs.d"))
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


@dataclass(frozen=True)
class Endpoint:
    """One base URL to try for a registry: `https://host` or `http://host` (insecure only)."""

    scheme: str
    host: str                 # host[:port] as in the URL
    verify: bool = True       # verify the TLS certificate
    mirror: bool = False
    prefix: str = ""          # path prefix of a mirror URL (`/mirror` in https://h/mirror)

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}{self.prefix}"


@dataclass
class RegistryConfig:
    """The daemon's registry settings (daemon.json keys) and where per-host certificates live."""

    insecure: list[str] = field(default_factory=list)
    mirrors: list[str] = field(default_factory=list)
    certs_dirs: tuple[Path, ...] = DEFAULT_CERTS_DIRS
    max_downloads: int = 3
    max_uploads: int = 5
    hub_host: str = DOCKER_HUB_HOST  # what serves docker.io (daemon.json hub-host)

    def __post_init__(self) -> None:
        self._nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [_LOOPBACK]
        self._hosts: set[str] = set()
        for entry in self.insecure:
            try:
                self._nets.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if "://" in entry:
                    raise InvalidParameter(f"insecure registry {entry} should not contain '://'") from None
                self._hosts.add(entry.lower())
        for m in self.mirrors:
            parts = urlsplit(m)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidParameter(f"invalid mirror: {m!r} is not a valid URI")
        if self.max_downloads < 1 or self.max_uploads < 1:
            raise InvalidParameter("max-concurrent-downloads and max-concurrent-uploads must be positive")

    # -- insecure -----------------------------------------------------------------------
    def is_insecure(self, host: str) -> bool:
        """localhost, 127.0.0.0/8, and what insecure-registries names (a host[:port] or a CIDR)."""
        host = host.lower()
        if host in self._hosts:
            return True
        name = _hostname(host)
        if name == "localhost" or name in self._hosts:
            return True
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return False
        return any(ip in net for net in self._nets)

    # -- TLS ------------------------------------------------------------------------------
    def tls_context(self, host: str, verify: bool = True) -> ssl.SSLContext:
        """System CAs plus `<certs.d>/<host>/*.crt`; client certs from `*.cert` + `*.key` pairs."""
        ctx = ssl.create_default_context()
        if not verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        for d in self.certs_dirs:
            hdir = d / host
            if not hdir.is_dir():
                continue
            for f in sorted(hdir.iterdir()):
                if f.suffix == ".crt":
                    ctx.load_verify_locations(cafile=str(f))
                elif f.suffix == ".cert":
                    key = f.with_suffix(".key")
                    if not key.exists():
                        raise InvalidParameter(f"missing key {key.name} for client certificate {f.name}")
                    ctx.load_cert_chain(str(f), str(key))
        return ctx

    # -- endpoints ------------------------------------------------------------------------
    def endpoints(self, domain: str, push: bool = False) -> list[Endpoint]:
        """Endpoints in the order to try: mirrors (docker.io pulls only), then the registry."""
        out: list[Endpoint] = []
        if domain == DOCKER_HUB:
            if not push:
                for m in self.mirrors:
                    parts = urlsplit(m)
                    out.append(Endpoint(parts.scheme, parts.netloc, not self.is_insecure(parts.netloc),
                                        True, parts.path.rstrip("/")))
            domain = self.hub_host
        if self.is_insecure(domain):
            out += [Endpoint("https", domain, verify=False), Endpoint("http", domain)]
        else:
            out.append(Endpoint("https", domain))
        return out


def _hostname(host: str) -> str:
    """`[::1]:5000` -> `::1`, `h:5000` -> `h`."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host
