"""Where the API listens (-H / daemon.json hosts): unix sockets and TCP, TCP with TLS as dockerd does.

Docker's rules: a tcp:// host without a port gets 2376 with TLS and 2375 without; without a
host, localhost. `--tlsverify` (which implies `--tls`) requires client certificates signed by
`--tlscacert`; `--tls` alone encrypts without authenticating clients. Plain TCP without
--tlsverify is warned about in Docker's words, and on a non-loopback address refused unless
the user says `--tls=false` or `--tlsverify=false` explicitly (dockerd 20.10 slows its start
by 15 s there and announces the refusal for a later release).
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
import ssl
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import DockyardError, InvalidParameter
from ..httpserver import Handler, TLSStream, server_context
from .config import DEFAULT_SOCKET, Config

log = logging.getLogger("dockyard.daemon")

HANDSHAKE_TIMEOUT = 10.0  # a client that opens TCP and never completes TLS is dropped


@dataclass(frozen=True)
class Host:
    proto: str      # "unix" or "tcp"
    address: str    # the socket path, or the host to bind
    port: int = 0

    @property
    def url(self) -> str:
        if self.proto == "unix":
            return f"unix://{self.address}"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"tcp://{host}:{self.port}"


def parse_host(spec: str, tls: bool) -> Host:
    """One -H value as dockerd's ParseHost reads it ("" is the default socket, no scheme is tcp)."""
    spec = spec.strip()
    if not spec:
        spec = DEFAULT_SOCKET
    if "://" not in spec:
        spec = "tcp://" + spec
    proto, _, rest = spec.partition("://")
    if proto == "unix":
        return Host("unix", rest or DEFAULT_SOCKET[len("unix://"):])
    if proto != "tcp":
        raise InvalidParameter(f"Invalid bind address format: {spec}")
    parsed = urllib.parse.urlsplit(spec)
    if parsed.path not in ("", "/"):
        raise InvalidParameter(f"Invalid bind address format: {spec} (no path allowed)")
    try:
        port = parsed.port
    except ValueError:
        raise InvalidParameter(f"Invalid bind address format: {spec}") from None
    return Host("tcp", parsed.hostname or "localhost", port or (2376 if tls else 2375))


def uses_tls(config: Config) -> bool:
    return bool(config.tls or config.tlsverify)


def tcp_hosts(config: Config) -> list[Host]:
    return [h for h in (parse_host(s, uses_tls(config)) for s in config.hosts) if h.proto == "tcp"]


def _cert_path(config: Config, given: str | None, name: str) -> str:
    if given:
        return given
    base = os.environ.get("DOCKER_CERT_PATH") or str(Path.home() / ".docker")
    return os.path.join(base, name)


def tls_context(config: Config) -> ssl.SSLContext | None:
    """The server context of every tcp:// host, or None without --tls/--tlsverify."""
    if not uses_tls(config):
        return None
    cert = _cert_path(config, config.tlscert, "cert.pem")
    key = _cert_path(config, config.tlskey, "key.pem")
    ca = _cert_path(config, config.tlscacert, "ca.pem") if config.tlsverify else None
    for path in (cert, key, ca):
        if path is not None and not os.path.exists(path):
            what = "the CA certificate" if path == ca else "X509 key pair"
            raise DockyardError(f"Could not load {what}: open {path}: no such file or directory")
    try:
        return server_context(cert, key, ca, bool(config.tlsverify))
    except (ssl.SSLError, OSError) as e:
        raise DockyardError(f"Could not load the TLS files (cert {cert}, key {key}, ca {ca}): {e}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_insecure(config: Config) -> None:
    """Docker's warnings for TCP without client authentication; refuse it off loopback unless forced."""
    if config.tlsverify:
        return
    forced = config.tls is not None or config.tlsverify is not None
    for host in tcp_hosts(config):
        url = host.url
        log.warning("Binding to IP address without --tlsverify is insecure and gives root access on this "
                    "machine to everyone who has access to your network.  host=%r", url)
        log.warning("Binding to an IP address, even on localhost, can also give access to scripts run in a "
                    "browser. Be safe out there!  host=%r", url)
        if forced or _is_loopback(host.address):
            continue
        log.warning("Please consider generating tls certificates with client validation to prevent exposing "
                    "unauthenticated root access to your network  host=%r", url)
        raise DockyardError(
            f"refusing to listen on {url} without --tlsverify: it would give root access on this machine to "
            f"everyone who can reach it. Use --tlsverify with --tlscacert, --tlscert and --tlskey, or "
            f"override this by explicitly specifying '--tls=false' or '--tlsverify=false'")


async def open_tcp(config: Config, dispatch: Handler,
                   serve: Callable[..., object]) -> list[asyncio.Server]:
    """Listen on every tcp:// host; `serve(reader, writer, dispatch, scheme)` runs a connection."""
    ctx = tls_context(config)
    servers = []
    for host in tcp_hosts(config):
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _accept(reader, writer, ctx, dispatch, serve)
        bind = None if host.address in ("0.0.0.0", "::") else host.address
        try:
            servers.append(await asyncio.start_server(on_connect, bind, host.port, limit=1 << 20,
                                                      backlog=512, reuse_address=True))
        except OSError as e:
            for s in servers:
                s.close()
            raise DockyardError(f"cannot listen on {host.url}: {e.strerror or e}") from None
        log.info("API listening on %s (%s)", host.url,
                 "TLS, client certificates verified" if config.tlsverify else "TLS" if ctx else "plain TCP")
    return servers


async def _accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ctx: ssl.SSLContext | None,
                  dispatch: Handler, serve: Callable[..., object]) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    if ctx is None:
        await serve(reader, writer, dispatch, "http")  # type: ignore[misc]
        return
    stream = TLSStream(reader, writer, ctx)
    try:
        await asyncio.wait_for(stream.handshake(), HANDSHAKE_TIMEOUT)
    except (ssl.SSLError, ConnectionError, OSError, asyncio.TimeoutError) as e:
        log.debug("TLS handshake with %s failed: %s", writer.get_extra_info("peername"), e)
        stream.close()
        return
    await serve(stream, stream, dispatch, "https")  # type: ignore[misc]
