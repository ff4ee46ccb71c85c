"""The keeper: the tiny process per exec-root that outlives a supervisor crash or upgrade.

It is the supervisor's parent and a child subreaper, so the containers of a supervisor that
dies become its children: it reaps them and keeps their exit codes until a supervisor has
recorded them. It holds a duplicate of every container's stdio fds (pipe read ends, stdin
write end, pty master), so no container sees EPIPE while no supervisor runs and what it
writes meanwhile waits in the pipe. It starts the next supervisor and hands it both.
It does no other work, so it has nothing that can fail. Run with `python -S`: stdlib only.
"""
from __future__ import annotations

import argparse
import os
import resource
import select
import signal
import socket
import sys
import time
from typing import Any

from ..linux.process import set_child_subreaper
from . import protocol
from .state import hold_pid_lock, reap_children

# A supervisor that dies sooner than this after its start is restarted after a growing delay.
_QUICK_DEATH = 2.0
_MAX_DELAY = 5.0


def _log(msg: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} keeper[{os.getpid()}] {msg}\n")
    sys.stderr.flush()


class Keeper:
    def __init__(self, exec_root: str, log_level: str) -> None:
        self.exec_root, self.log_level = exec_root, log_level
        self.held: dict[str, dict[str, int]] = {}   # key (container id) -> role -> fd
        self.exits: dict[int, int] = {}             # reaped pid -> exit code, until a supervisor acks it
        self.sup_pid = 0
        self.sup_started = 0.0
        self.sock: socket.socket | None = None
        self.outbox: list[tuple[dict[str, Any], list[int]]] = []
        self.idle = False       # the supervisor said it holds nothing and leaves
        self.stopping = False   # SIGTERM: end the supervisor, then leave
        self.restart_at: float | None = None
        self.delay = 0.0

    # -- the supervisor ----------------------------------------------------------------------
    def spawn_supervisor(self, ready_fd: int = -1) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(theirs.fileno(), True)
        argv = [sys.executable, "-m", "dockyard.runtime.supervisor", "--exec-root", self.exec_root,
                "--log-level", self.log_level, "--keeper-fd", str(theirs.fileno())]
        if ready_fd >= 0:
            os.set_inheritable(ready_fd, True)
            argv += ["--ready-fd", str(ready_fd)]
        try:
            self.sup_pid = os.posix_spawn(sys.executable, argv, os.environ)
        finally:
            theirs.close()
            if ready_fd >= 0:
                os.close(ready_fd)
        self.sup_started = time.monotonic()
        self.sock, self.idle, self.restart_at = ours, False, None
        ours.setblocking(False)
        # What the new supervisor needs to adopt the containers: their fds and unrecorded exits.
        self.outbox = []
        batch: list[tuple[str, str]] = []
        fds: list[int] = []
        for key, roles in self.held.items():
            if len(fds) + len(roles) > protocol.MAX_FDS:
                self.outbox.append(({"op": "held", "fds": batch}, fds))
                batch, fds = [], []
            for role, fd in roles.items():
                batch.append((key, role))
                fds.append(fd)
        if batch:
            self.outbox.append(({"op": "held", "fds": batch}, fds))
        self.outbox += [({"op": "exit", "pid": pid, "code": code}, []) for pid, code in self.exits.items()]
        self.outbox.append(({"op": "loaded"}, []))
        _log(f"started supervisor {self.sup_pid} with {len(self.held)} containers' stdio")

    def supervisor_exited(self, code: int) -> None:
        if self.sock is not None:
            self.receive()  # what it sent before it died still counts (a hold, an ack)
            self.sock.close()
            self.sock, self.outbox = None, []
        self.sup_pid = 0
        if self.stopping or (self.idle and not self.held and not self.exits):
            return
        lived = time.monotonic() - self.sup_started
        self.delay = min(max(self.delay * 2, 0.1), _MAX_DELAY) if lived < _QUICK_DEATH else 0.0
        self.restart_at = time.monotonic() + self.delay
        _log(f"supervisor exited ({code}); a new one starts in {self.delay:.1f}s")

    # -- messages ----------------------------------------------------------------------------
    def receive(self) -> None:
        while self.sock is not None:
            try:
                got = protocol.recv_packet(self.sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                got = None
            if got is None:
                return
            msg, fds = got
            self.handle(msg, fds)

    def handle(self, msg: dict[str, Any], fds: list[int]) -> None:
        op = msg.get("op")
        if op == "hold":
            roles = self.held.setdefault(msg["key"], {})
            for role, fd in zip(msg["roles"], fds):
                old = roles.pop(role, -1)
                if old >= 0:
                    os.close(old)
                roles[role] = fd
            return
        for fd in fds:
            os.close(fd)
        if op == "drop":
            roles = self.held.get(msg["key"], {})
            for role in msg.get("roles") or list(roles):
                fd = roles.pop(role, -1)
                if fd >= 0:
                    os.close(fd)
            if not roles:
                self.held.pop(msg["key"], None)
        elif op == "ack":
            for pid in msg["pids"]:
                self.exits.pop(pid, None)
        elif op == "idle":
            self.idle = True

    def flush(self) -> None:
        while self.outbox and self.sock is not None:
            msg, fds = self.outbox[0]
            try:
                protocol.send_packet(self.sock, msg, fds)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.outbox = []  # it is gone: its exit comes through SIGCHLD
                return
            self.outbox.pop(0)

    # -- children ----------------------------------------------------------------------------
    def reap(self) -> None:
        for pid, code in reap_children():
            if pid == self.sup_pid:
                self.supervisor_exited(code)
                continue
            # an orphan of a dead supervisor (a container's init, an exec, a runtime helper)
            self.exits[pid] = code
            if self.sock is not None:
                self.outbox.append(({"op": "exit", "pid": pid, "code": code}, []))

    def done(self) -> bool:
        return self.sup_pid == 0 and self.restart_at is None

    def run(self, ready_fd: int) -> None:
        wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        self.spawn_supervisor(ready_fd)
        while not self.done():
            timeout = None if self.restart_at is None else max(self.restart_at - time.monotonic(), 0)
            readers = [wake_r] + ([self.sock] if self.sock is not None else [])
            writers = [self.sock] if self.sock is not None and self.outbox else []
            try:
                r, w, _ = select.select(readers, writers, [], timeout)
            except InterruptedError:
                continue
            if wake_r in r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            self.reap()
            if self.sock is not None and self.sock in r:
                self.receive()
            if self.sock is not None and self.outbox:
                self.flush()
            if self.restart_at is not None and time.monotonic() >= self.restart_at and not self.stopping:
                self.spawn_supervisor()
        _log("leaving: no supervisor to run" + (" (stopped)" if self.stopping else ""))

    def stop(self) -> None:
        self.stopping = True
        self.restart_at = None
        if self.sup_pid:
            os.kill(self.sup_pid, signal.SIGTERM)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="dockyard-keeper")
    ap.add_argument("--exec-root", required=True)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--ready-fd", type=int, default=-1, help="handed to the first supervisor")
    ap.add_argument("--detach", action="store_true", help="fork and let the parent exit (not the caller's child)")
    a = ap.parse_args(argv)
    if a.detach and os.fork() > 0:
        os._exit(0)
    os.makedirs(a.exec_root, exist_ok=True)
    if hold_pid_lock(os.path.join(a.exec_root, "keeper.lock")) is None:
        sys.exit(0)  # one keeper per exec-root: it starts the supervisor again itself
    # Every held fd counts against our limit (and again while in flight to a supervisor).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    set_child_subreaper()
    Keeper(os.path.abspath(a.exec_root), a.log_level).run(a.ready_fd)


if __name__ == "__main__":
    main()
