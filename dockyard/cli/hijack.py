"""Hijacked connections (attach, exec start): upgrade an HTTP request to a raw byte stream both ways.

The request goes out with `Connection: Upgrade` / `Upgrade: tcp`; the daemon answers
`101 UPGRADED` and from then on the socket carries the container's stdin (our
writes; a half-close ends it) and its output (raw for a TTY, else 8-byte frames).
"""
from __future__ import annotations

import http.client
import io
import os
import signal
import _socket
import socket
import sys
import threading
from typing import Any, BinaryIO, Callable

from dockyard.cli.client import BLOCK, USER_AGENT, APIError, CLIError, Client, error_message
from dockyard.cli.streams import pump


class Hijacked:
    """The raw socket after the upgrade; `read()` first returns bytes buffered with the headers."""

    def __init__(self, sock: socket.socket, response: http.client.HTTPResponse, multiplexed: bool) -> None:
        self.sock = sock
        # the response owns the buffered reader: keep it alive (its finaliser closes the reader)
        self.response = response
        self.reader: io.BufferedReader = response.fp
        self.multiplexed = multiplexed
        self.detached = False

    def read(self) -> bytes:
        try:
            return self.reader.read1(BLOCK)
        except (OSError, ValueError):
            return b""

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        try:
            # The TCP half-close, even under TLS (ssl.SSLSocket.shutdown would drop the TLS state
            # that the container's output still comes through); dockyardd reads it as stdin's end.
            _socket.socket.shutdown(self.sock, socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()

    def copy_output(self, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None) -> None:
        pump(self.read, self.multiplexed, stdout, stderr)


def _raw_socket(client: Client) -> socket.socket:
    try:
        if isinstance(client.address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(client.address)
        else:
            sock = socket.create_connection(client.address)
    except (ConnectionRefusedError, FileNotFoundError) as exc:
        raise client.unreachable(exc) from None
    return client.wrap(sock)


def hijack(client: Client, path: str, params: Any = None, body: bytes | None = None,
           multiplexed: bool = True) -> Hijacked:
    """POST `path` asking for an upgrade; return the raw stream or raise APIError."""
    sock = _raw_socket(client)
    payload = body or b""
    head = (
        f"POST {client.url(path, params)} HTTP/1.1\r\n"
        f"Host: localhost\r\nUser-Agent: {USER_AGENT}\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n"
        f"Content-Type: {'application/json' if body else 'text/plain'}\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    sock.sendall(head.encode() + payload)
    resp = http.client.HTTPResponse(sock, method="POST")
    try:
        resp.begin()
    except (http.client.HTTPException, OSError) as exc:
        sock.close()
        raise CLIError(f"error during connect: {exc}") from None
    if resp.status >= 400:
        data = resp.read()
        sock.close()
        raise APIError(resp.status, error_message(resp.status, data))
    content_type = resp.getheader("Content-Type", "")
    if "multiplexed-stream" in content_type:
        multiplexed = True
    return Hijacked(sock, resp, multiplexed)


def parse_detach_keys(spec: str) -> bytes:
    """docker's notation: comma-separated keys, each one character or ctrl-<a-z @ [ \\ ] ^ _>."""
    out = bytearray()
    for key in spec.split(","):
        k = key.strip()
        if len(k) == 1:
            out.append(ord(k))
        elif k.lower().startswith("ctrl-") and len(k) == 6 and ("a" <= k[5].lower() <= "z" or k[5] in "@[\\]^_"):
            c = k[5].lower()
            out.append(ord(c) - ord("a") + 1 if "a" <= c <= "z" else "@abcdefghijklmnopqrstuvwxyz[\\]^_".index(c))
        else:
            raise CLIError(f"Invalid detach keys ({spec}) provided")
    return bytes(out)


def forward_stdin(conn: Hijacked, stdin_fd: int | None = None, detach_keys: bytes = b"") -> threading.Thread:
    """Copy our stdin to the container in a daemon thread; half-close at EOF.

    When the user types `detach_keys` (a TTY session), the connection is shut down and
    `conn.detached` is set: the container keeps running.
    """
    fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd

    def run() -> None:
        held = b""
        try:
            while True:
                data = os.read(fd, BLOCK)
                if not data:
                    break
                if detach_keys:
                    out = bytearray()
                    for b in data:
                        cand = held + bytes([b])
                        if detach_keys.startswith(cand):
                            held = cand
                            if held == detach_keys:
                                if out:
                                    conn.write(bytes(out))
                                conn.detached = True
                                conn.sock.shutdown(socket.SHUT_RDWR)
                                return
                        else:
                            out += cand
                            held = b""
                    data = bytes(out)
                if data:
                    conn.write(data)
        except OSError:
            pass
        finally:
            conn.close_write()

    thread = threading.Thread(target=run, name="stdin", daemon=True)
    thread.start()
    return thread


class RawTerminal:
    """Put a TTY in raw mode for the duration of a `with` block."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.saved: list[Any] | None = None

    def __enter__(self) -> "RawTerminal":
        if os.isatty(self.fd):
            import termios
            import tty
            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)  # keep what was typed before: TCSAFLUSH would drop it
        return self

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def monitor_tty_size(resize: Callable[[int, int], None], fd: int | None = None) -> None:
    """Send the terminal size now and on every SIGWINCH."""
    out_fd = sys.stdout.fileno() if fd is None else fd

    def send(*_: object) -> None:
        try:
            size = os.get_terminal_size(out_fd)
        except OSError:
            return
        try:
            resize(size.lines, size.columns)
        except CLIError:
            pass

    send()
    signal.signal(signal.SIGWINCH, send)
