"""Embedded DNS: a resolver at 127.0.0.11:53 inside each container on a user-defined network.

Its socket is made in the container's namespace (by a forked helper) and served by the daemon's
event loop, like Docker's. Container names, aliases and short IDs on the container's networks are
answered; every other name is forwarded to the host's resolvers.
"""
from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, Callable

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

log = logging.getLogger("dockyard.network.dns")
ADDRESS = "127.0.0.11"
TTL = 600

Lookup = Callable[[str], "list[str] | None"]  # name -> addresses, or None if not ours


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: "DnsServer") -> None:
        self.server = server
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        asyncio.ensure_future(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: Any) -> None:
        reply = await self.server.answer(data)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)


class DnsServer:
    def __init__(self, lookup: Lookup, upstreams: Callable[[], list[str]]) -> None:
        self.lookup = lookup
        self.upstreams = upstreams

    async def serve(self, sock: socket.socket) -> asyncio.DatagramTransport:
        sock.setblocking(False)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Protocol(self), sock=sock)
        return transport

    async def answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        q = query.question[0]
        name = q.name.to_text(omit_final_dot=True).lower()
        addrs = self.lookup(name) if q.rdclass == dns.rdataclass.IN else None
        if addrs is not None:
            resp = dns.message.make_response(query)
            resp.flags |= dns.flags.AA | dns.flags.RA
            if q.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY):
                resp.answer.append(dns.rrset.from_text_list(q.name, TTL, "IN", "A", addrs))
            return resp.to_wire()
        return await self._forward(query)

    async def _forward(self, query: dns.message.Message) -> bytes:
        for server in self.upstreams():
            try:
                resp = await dns.asyncquery.udp(query, server, timeout=3)
                return resp.to_wire()
            except (dns.exception.DNSException, OSError):
                continue
        resp = dns.message.make_response(query)
        resp.set_rcode(dns.rcode.SERVFAIL)
        return resp.to_wire()
