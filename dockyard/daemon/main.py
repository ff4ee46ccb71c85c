"""dockyardd: parse flags, assemble the services, serve the API until SIGTERM/SIGINT."""
from __future__ import annotations

import asyncio
import fcntl
import functools
import grp
import logging
import os
import signal
import socket
import sys

from ..api.http import close_all_connections, profile_with, serve_connection
from ..errors import DockyardError
from ..network.config import from_daemon_json
from ..network.setup import claim_host_names
from . import listeners
from .assembly import assemble
from .config import Config, parse_args

log = logging.getLogger("dockyard.daemon")


def _socket_group() -> int | None:
    for name in ("docker", "dockyard"):
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            continue
    return None


def _listen(path: str) -> socket.socket:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    probe = socket.socket(socket.AF_UNIX)
    try:
        probe.connect(path)
        raise DockyardError(f"another daemon is already listening on {path}")
    except (FileNotFoundError, ConnectionRefusedError):
        pass
    finally:
        probe.close()
    if os.path.exists(path):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    gid = _socket_group()
    os.chown(path, 0 if os.geteuid() == 0 else -1, gid if gid is not None else -1)
    os.chmod(path, 0o660)
    sock.listen(512)
    return sock


_held_locks: list[int] = []


def _claim(config: Config) -> None:
    """Refuse to start before touching any state if another daemon serves these sockets or roots.

    Assembly cleans unfinished work in the roots (ingests, unpacks, orphan layers), so a second
    daemon must stop here, like dockerd's pidfile check, not after it.
    """
    for path in config.socket_paths:
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            raise DockyardError(f"another daemon is already listening on {path}")
        except (FileNotFoundError, ConnectionRefusedError):
            pass
        finally:
            probe.close()
    for root in (config.data_root, config.exec_root):
        os.makedirs(root, mode=0o711, exist_ok=True)
        fd = os.open(os.path.join(root, "dockyardd.pid"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DockyardError(f"another daemon is already using {root} "
                                f"(pid file {os.path.join(root, 'dockyardd.pid')} is locked)") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        _held_locks.append(fd)
    claim_host_names(from_daemon_json(config.extra))  # the host-wide names: links, nftables table


async def run(config: Config) -> None:
    # hosts, TLS files and the plain-TCP rule are checked before any state is touched
    config.hosts = [listeners.parse_host(h, listeners.uses_tls(config)).url for h in config.hosts or [""]]
    listeners.tls_context(config)
    listeners.check_insecure(config)
    _claim(config)
    daemon, router = await assemble(config)
    profile = profile_with(config.http_idle_timeout, config.http_header_timeout)
    serve = functools.partial(serve_connection, profile=profile)
    servers = await listeners.open_tcp(config, router.dispatch, serve)
    for path in config.socket_paths:
        sock = _listen(path)
        servers.append(await asyncio.start_unix_server(
            lambda r, w: serve(r, w, router.dispatch), sock=sock, limit=1 << 20, backlog=512))
        log.info("API listening on %s", path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down; containers keep running (live restore)")
    for s in servers:
        s.close()
    await close_all_connections()
    await daemon.containers.shutdown()
    for path in config.socket_paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def main(argv: list[str] | None = None) -> None:
    try:
        config = parse_args(argv)
    except DockyardError as e:
        print(f"dockyardd: {e}", file=sys.stderr)
        sys.exit(1)
    level = {"warn": logging.WARNING, "fatal": logging.CRITICAL}.get(
        config.log_level, getattr(logging, config.log_level.upper(), logging.INFO))
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run(config))
    except DockyardError as e:
        log.error("%s", e)
        sys.exit(1)


if __name__ == "__main__":
    main()
