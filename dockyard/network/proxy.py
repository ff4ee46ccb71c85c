"""The userland proxy: published ports on the host's addresses (loopback above all) relayed to a container.

The kernel cannot DNAT loopback traffic out of the host, so a listener in the daemon serves it;
it also holds the host port, so a port in use elsewhere fails the start with Docker's message.
"""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any

from ..errors import SystemFailure

log = logging.getLogger("dockyard.network.proxy")
UDP_IDLE = 90.0


def bind_socket(proto: str, host_ip: str, port: int, port_end: int = 0) -> socket.socket:
    """Bind the host side; port 0 lets the kernel pick, a range takes its first free port."""
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    addr = host_ip or "0.0.0.0"
    candidates = range(port, (port_end or port) + 1) if port else [0]
    last: OSError | None = None
    for p in candidates:
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, p))
            s.setblocking(False)
            return s
        except OSError as e:
            s.close()
            last = e
            if e.errno != errno.EADDRINUSE:
                break
    shown = f"{port}-{port_end}" if port_end else str(port)
    if last is not None and last.errno == errno.EADDRINUSE:
        raise SystemFailure(f"Bind for {addr}:{shown} failed: port is already allocated")
    raise SystemFailure(f"Bind for {addr}:{shown} failed: {last.strerror if last else 'error'}")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            pass


class _UdpRelay(asyncio.DatagramProtocol):
    """One host-side socket; one connected socket towards the container per client address."""

    def __init__(self, dest: tuple[str, int]) -> None:
        self.dest = dest
        self.transport: Any = None
        self.clients: dict[Any, tuple[asyncio.DatagramTransport, float]] = {}

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        asyncio.ensure_future(self._forward(data, addr))

    async def _forward(self, data: bytes, addr: Any) -> None:
        loop = asyncio.get_running_loop()
        entry = self.clients.get(addr)
        if entry is None:
            outer = self

            class Back(asyncio.DatagramProtocol):
                def datagram_received(self, reply: bytes, _: Any) -> None:
                    if outer.transport is not None:
                        outer.transport.sendto(reply, addr)
                    outer.clients[addr] = (outer.clients[addr][0], loop.time())

            try:
                t, _ = await loop.create_datagram_endpoint(Back, remote_addr=self.dest)
            except OSError:
                return
            entry = (t, loop.time())
            self.clients[addr] = entry
            loop.call_later(UDP_IDLE, self._expire, addr)
        entry[0].sendto(data)
        self.clients[addr] = (entry[0], loop.time())

    def _expire(self, addr: Any) -> None:
        entry = self.clients.get(addr)
        if entry is None:
            return
        loop = asyncio.get_event_loop()
        idle = loop.time() - entry[1]
        if idle >= UDP_IDLE:
            entry[0].close()
            del self.clients[addr]
        else:
            loop.call_later(UDP_IDLE - idle, self._expire, addr)

    def close(self) -> None:
        for t, _ in self.clients.values():
            t.close()
        self.clients.clear()


class Proxy:
    """One published port: a listener on the host, relaying to dest_ip:dest_port."""

    def __init__(self, sock: socket.socket, proto: str, dest_ip: str, dest_port: int) -> None:
        self.sock = sock
        self.proto = proto
        self.dest = (dest_ip, dest_port)
        self._server: asyncio.base_events.Server | None = None
        self._udp: tuple[Any, _UdpRelay] | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.proto == "tcp":
            self._server = await asyncio.start_server(self._serve, sock=self.sock)
        else:
            self._udp = await loop.create_datagram_endpoint(lambda: _UdpRelay(self.dest), sock=self.sock)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            try:
                up_r, up_w = await asyncio.wait_for(asyncio.open_connection(*self.dest), 10)
            except (OSError, asyncio.TimeoutError):
                return
            self._conns.add(up_w)
            await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))
            up_w.close()
            self._conns.discard(up_w)
        finally:
            writer.close()
            self._conns.discard(writer)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._conns):
                w.close()
            self._server = None
        if self._udp is not None:
            self._udp[1].close()
            self._udp[0].close()
            self._udp = None
        self.sock.close()
