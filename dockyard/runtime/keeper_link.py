"""The supervisor's side of its keeper (runtime/keeper.py): stdio fds to hold and drop, exits to learn and ack."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any, Callable

from . import protocol

log = logging.getLogger("dockyard.supervisor")


class KeeperLink:
    def __init__(self, fd: int) -> None:
        self.sock: socket.socket | None = socket.socket(fileno=fd)
        self.keeper_pid = os.getppid()
        self._outbox: list[tuple[dict[str, Any], list[int]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_exit: Callable[[int, int], None] = lambda pid, code: None

    def load(self) -> tuple[dict[str, dict[str, int]], dict[int, int]]:
        """At start-up (blocking): the stdio fds the keeper holds by container, and exits it reaped."""
        held: dict[str, dict[str, int]] = {}
        exits: dict[int, int] = {}
        assert self.sock is not None
        self.sock.settimeout(30)
        while True:
            try:
                got = protocol.recv_packet(self.sock)
            except OSError as e:
                log.warning("keeper: %s", e)
                got = None
            if got is None:
                self._lost()
                break
            msg, fds = got
            if msg["op"] == "held":
                for (key, role), fd in zip(msg["fds"], fds):
                    held.setdefault(key, {})[role] = fd
            elif msg["op"] == "exit":
                exits[int(msg["pid"])] = int(msg["code"])
            elif msg["op"] == "loaded":
                break
        return held, exits

    def start(self, loop: asyncio.AbstractEventLoop, on_exit: Callable[[int, int], None]) -> None:
        self._loop, self._on_exit = loop, on_exit
        if self.sock is not None:
            self.sock.setblocking(False)
            loop.add_reader(self.sock, self._readable)
            self._flush()

    def is_keeper_child(self, pid: int) -> bool:
        """The keeper reaps (and reports) only its own children: the containers of dead supervisors."""
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except OSError:
            return False
        return int(data[data.rfind(b")") + 2:].split()[1]) == self.keeper_pid

    @property
    def alive(self) -> bool:
        return self.sock is not None

    # -- messages to the keeper -----------------------------------------------------------------
    def hold(self, key: str, fds: dict[str, int]) -> None:
        """The keeper keeps its own duplicates: ours may be closed before the packet leaves."""
        if self.sock is not None and fds:
            self._send({"op": "hold", "key": key, "roles": list(fds)}, [os.dup(fd) for fd in fds.values()])

    def drop(self, key: str, roles: list[str] | None = None) -> None:
        self._send({"op": "drop", "key": key, "roles": roles})

    def ack(self, pids: list[int]) -> None:
        if pids:
            self._send({"op": "ack", "pids": pids})

    def idle(self) -> None:
        self._send({"op": "idle"})

    def flush_blocking(self) -> None:
        """Before the supervisor exits: everything queued reaches the keeper."""
        if self.sock is None:
            return
        self.sock.setblocking(True)
        self._flush()

    def _send(self, msg: dict[str, Any], fds: list[int] | None = None) -> None:
        if self.sock is None:
            for fd in fds or []:
                os.close(fd)
            return
        self._outbox.append((msg, fds or []))
        self._flush()

    def _flush(self) -> None:
        while self._outbox and self.sock is not None:
            msg, fds = self._outbox[0]
            try:
                protocol.send_packet(self.sock, msg, fds)
            except BlockingIOError:
                if self._loop is not None:
                    self._loop.add_writer(self.sock, self._flush)
                return
            except OSError as e:
                log.warning("keeper: %s", e)
                self._lost()
                return
            self._outbox.pop(0)
            for fd in fds:
                os.close(fd)
        if self._loop is not None and self.sock is not None:
            self._loop.remove_writer(self.sock)

    # -- messages from the keeper ---------------------------------------------------------------
    def _readable(self) -> None:
        while self.sock is not None:
            try:
                got = protocol.recv_packet(self.sock)
            except BlockingIOError:
                return
            except OSError:
                got = None
            if got is None:
                self._lost()
                return
            msg, fds = got
            for fd in fds:
                os.close(fd)
            if msg.get("op") == "exit":
                self._on_exit(int(msg["pid"]), int(msg["code"]))

    def _lost(self) -> None:
        """The keeper died: go on without it (a later supervisor crash then loses the containers)."""
        if self.sock is None:
            return
        log.warning("the keeper is gone: containers' stdio now lives in this supervisor only")
        if self._loop is not None:
            self._loop.remove_reader(self.sock)
            self._loop.remove_writer(self.sock)
        self.sock.close()
        self.sock = None
        for _, fds in self._outbox:
            for fd in fds:
                os.close(fd)
        self._outbox = []
