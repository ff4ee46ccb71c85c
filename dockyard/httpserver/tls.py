"""Server-side TLS over a plain asyncio stream, with the half-close that hijacked streams need.

asyncio's own TLS transport closes the connection as soon as the client's close_notify
arrives. The docker CLI sends close_notify when stdin ends (Go's tls.Conn.CloseWrite) and
then waits for the container's output, as dockerd keeps writing after it: so this module
drives an `ssl.SSLObject` over memory BIOs itself. A close_notify, or a TCP FIN (how
Dockyard's CLI half-closes), reads as EOF while writing goes on.
"""
from __future__ import annotations

import asyncio
import ssl
from typing import Any

_READ = 64 * 1024


class TLSStream:
    """Both the reader and the writer of one TLS connection (the subset Connection uses)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 context: ssl.SSLContext) -> None:
        self._reader = reader
        self._writer = writer
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(self._in, self._out, server_side=True)
        self._eof = False

    @property
    def transport(self) -> asyncio.WriteTransport:
        return self._writer.transport

    def _flush(self) -> None:
        data = self._out.read()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    async def _fill(self) -> bool:
        """Feed the next bytes from the socket to the TLS object; False at EOF."""
        if self._eof:
            return False
        data = await self._reader.read(_READ)
        if not data:
            # Not passed on as write_eof(): OpenSSL would then fail every later write.
            self._eof = True
            return False
        self._in.write(data)
        return True

    async def handshake(self) -> None:
        """Run the server handshake; an ssl.SSLError (no or a bad client certificate) is raised
        after the alert that tells the client why has been sent."""
        while True:
            try:
                self._ssl.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                await self._writer.drain()
                if not await self._fill():
                    raise ConnectionResetError("the client closed the connection during the TLS handshake")
            except ssl.SSLError:
                self._flush()
                raise

    # reader ---------------------------------------------------------------------------------
    async def read(self, n: int = -1) -> bytes:
        n = _READ if n < 0 else n
        while True:
            try:
                data = self._ssl.read(n)
                self._flush()  # a read may answer a key update
                return data
            except ssl.SSLWantReadError:
                self._flush()
                if not await self._fill():
                    return b""
            except ssl.SSLZeroReturnError:
                return b""  # close_notify: the client half-closed; writing goes on

    # writer ---------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if data:
            self._ssl.write(data)
            self._flush()

    async def drain(self) -> None:
        await self._writer.drain()

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        if not self._writer.is_closing():
            try:
                self._ssl.unwrap()  # queue our close_notify
            except ssl.SSLError:
                pass  # SSLWantRead: the peer's close_notify is not awaited
            self._flush()
        self._writer.close()

    async def wait_closed(self) -> None:
        await self._writer.wait_closed()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "ssl_object":
            return self._ssl
        if name == "peercert":
            return self._ssl.getpeercert()
        return self._writer.get_extra_info(name, default)


def server_context(certfile: str, keyfile: str, cafile: str | None, verify: bool) -> ssl.SSLContext:
    """As dockerd's: TLS 1.2 or later; with `verify`, a client certificate signed by `cafile` is required."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if cafile:
            ctx.load_verify_locations(cafile)
    return ctx
