"""The supervisor: one long-lived, single-threaded process per exec-root that holds every container's stdio,
writes its logs, reaps it and records its exit, and outlives the daemon."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
from typing import Any

from .. import errors
from ..errors import ContainerNotFound, ContainerNotRunning, RuntimeCreateError
from ..linux.process import set_child_subreaper
from . import protocol
from .drivers import BuiltinDriver, CliDriver, RuntimeDriver
from . import adopt
from .keeper_link import KeeperLink
from .state import atomic_write_json, hold_pid_lock, reap_children
from .supervised import Supervised, SupervisedExec

log = logging.getLogger("dockyard.supervisor")
# How long a supervisor that holds nothing waits for a daemon before it leaves.
IDLE_GRACE = 1.0


class Supervisor:
    def __init__(self, exec_root: str, keeper: KeeperLink | None = None) -> None:
        self.exec_root = exec_root
        self.keeper = keeper
        self.connections = 0
        self.idle = asyncio.Event()
        self._idle_timer: asyncio.TimerHandle | None = None
        self.containers: dict[str, Supervised] = {}
        self.by_pid: dict[int, Supervised] = {}
        self.drivers: dict[str, RuntimeDriver] = {}
        self.execs: dict[str, SupervisedExec] = {}
        self.loop = asyncio.get_running_loop()

    # -- runtime drivers ---------------------------------------------------------------------
    def driver(self, name: str) -> RuntimeDriver:
        if name not in self.drivers:
            root = os.path.join(self.exec_root, "runtime", os.path.basename(name))
            if name == "builtin":
                self.drivers[name] = BuiltinDriver(root)
            else:
                binary = shutil.which(name)
                if not binary:
                    raise errors.InvalidParameter(f"unknown or invalid runtime name: {name}")
                self.drivers[name] = CliDriver(binary, root)
        return self.drivers[name]

    def cdir(self, id: str) -> str:
        return os.path.join(self.exec_root, "containers", id)

    def get(self, id: str) -> Supervised:
        c = self.containers.get(id)
        if c is None:
            raise errors.NotFound(f"No such container: {id}")
        return c

    # -- start-up: what previous supervisors left on disk and with the keeper (adopt.py) ----
    def load(self) -> None:
        adopt.load(self)

    def keeper_reaped(self, pid: int, code: int) -> None:
        """An orphan of a dead supervisor ended; its parent, the keeper, reaped it."""
        c = self.by_pid.pop(pid, None)
        if c is None:
            self.keeper.ack([pid]) if self.keeper is not None else None
            return
        c.keeper_reaped = True
        c.exited(code)

    # -- SIGCHLD: we are the subreaper, so every container init ends up here ----------------
    def reap(self) -> None:
        for pid, code in reap_children():
            c = self.by_pid.pop(pid, None)
            if c is not None:
                c.exited(code)

    # -- control requests ----------------------------------------------------------------------
    async def op_create(self, id: str, bundle: str, log_path: str, tty: bool = False, open_stdin: bool = False,
                        runtime: str = "builtin", log: dict[str, Any] | None = None) -> dict[str, Any]:
        if id in self.containers:
            raise errors.Conflict(f"container {id} already exists")
        driver = self.driver(runtime)
        d = self.cdir(id)
        os.makedirs(d, exist_ok=True)
        meta = {"id": id, "bundle": bundle, "log_path": log_path, "tty": tty, "open_stdin": open_stdin,
                "runtime": runtime, "log": log}
        c = Supervised(self, id, meta)
        try:
            c.spawn(driver)
        except RuntimeCreateError as e:
            shutil.rmtree(d, ignore_errors=True)
            if e.exit_code in (126, 127):
                err = errors.ExecNotFound(f"OCI runtime create failed: unable to start container process: "
                                          f"{e.message}: unknown")
                err.exit_code = e.exit_code  # type: ignore[attr-defined]
                raise err from None
            raise errors.SystemFailure(f"OCI runtime create failed: {e.message}: unknown") from None
        except errors.DockyardError:
            shutil.rmtree(d, ignore_errors=True)
            raise
        except Exception as e:
            shutil.rmtree(d, ignore_errors=True)
            raise errors.SystemFailure(f"OCI runtime create failed: {e}") from None
        self.containers[id] = c
        self.by_pid[c.pid] = c
        atomic_write_json(os.path.join(d, "container.json"), {**meta, "pid": c.pid})
        if self.keeper is not None and self.keeper.alive:
            self.keeper.hold(id, c.stdio_roles())
            c.held = True
        return {"pid": c.pid}

    # -- exec: extra processes in running containers --------------------------------------
    def spawn_exec(self, id: str, exec_id: str, process: dict[str, Any], tty: bool,
                   open_stdin: bool) -> SupervisedExec:
        c = self.get(id)
        if c.record["status"] != "running" or c.driver is None:
            raise errors.Conflict(f"Container {id} is not running")
        if exec_id in self.execs:
            raise errors.Conflict(f"exec {exec_id} already exists")
        e = SupervisedExec(self, c, exec_id, {"process": process, "tty": tty, "open_stdin": open_stdin})
        try:
            e.spawn(c.driver)
        except RuntimeCreateError as err:
            out = errors.ExecNotFound(f"OCI runtime exec failed: exec failed: unable to start container "
                                      f"process: {err.message}: unknown")
            out.exit_code = err.exit_code if err.exit_code in (126, 127) else 126  # type: ignore[attr-defined]
            raise out from None
        except (ContainerNotRunning, ContainerNotFound):
            raise errors.Conflict(f"Container {id} is not running") from None
        self.execs[exec_id] = e
        self.by_pid[e.pid] = e
        if self.keeper is not None and self.keeper.alive:
            # A next supervisor adopts it (detached: its output is drained, its code kept).
            atomic_write_json(e.record_path, {"pid": e.pid, "tty": tty, "open_stdin": open_stdin,
                                              "started_at": e.record["started_at"]})  # not its env
            self.keeper.hold(e.keeper_key, e.stdio_roles())
            e.held = True
        return e

    async def op_exec(self, id: str, exec_id: str, process: dict[str, Any], tty: bool = False,
                      open_stdin: bool = False) -> dict[str, Any]:
        """A detached exec: its output goes nowhere."""
        return {"pid": self.spawn_exec(id, exec_id, process, tty, open_stdin).pid}

    def get_exec(self, exec_id: str) -> SupervisedExec:
        e = self.execs.get(exec_id)
        if e is None:
            raise errors.NotFound(f"No such exec instance: {exec_id}")
        return e

    async def op_exec_wait(self, exec_id: str) -> dict[str, Any]:
        return await self.get_exec(exec_id).wait()

    async def op_exec_resize(self, exec_id: str, height: int, width: int) -> None:
        self.get_exec(exec_id).resize(height, width)

    async def op_exec_forget(self, exec_id: str) -> None:
        e = self.execs.pop(exec_id, None)
        if e is not None and e.record["status"] == "exited":
            e.forget()
        elif e is not None:
            self.execs[exec_id] = e  # still running: kept until it exits

    async def op_start(self, id: str) -> None:
        c = self.get(id)
        if c.record["status"] != "created":
            raise errors.Conflict(f"container {id} is already {c.record['status']}")
        c.start()

    async def op_kill(self, id: str, signal: int) -> None:
        c = self.get(id)
        if c.record["status"] != "running":
            raise errors.Conflict(f"Container {id} is not running")
        c.kill(signal)

    async def op_delete(self, id: str) -> None:
        c = self.get(id)
        if c.record["status"] != "exited":
            c.kill(signal.SIGKILL, all=True)
            await asyncio.wait_for(c.wait(), 10)
        self.containers.pop(id, None)
        for exec_id, e in list(self.execs.items()):
            if e.container is c:
                self.execs.pop(exec_id)
                e.forget()
        c.forget()
        self.by_pid.pop(c.pid, None)
        shutil.rmtree(self.cdir(id), ignore_errors=True)

    async def op_list(self) -> list[dict[str, Any]]:
        return [dict(c.record) for c in self.containers.values()]

    async def op_wait_exit(self, id: str) -> dict[str, Any]:
        return await self.get(id).wait()

    async def op_resize(self, id: str, height: int, width: int) -> None:
        self.get(id).resize(height, width)

    async def op_ping(self) -> dict[str, Any]:
        return {"pid": os.getpid()}

    # -- connections -------------------------------------------------------------------------
    def check_idle(self) -> None:
        """Holding no container and with nobody connected (its daemon stopped), the supervisor leaves."""
        if self.containers or self.execs or self.connections:
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
        elif self._idle_timer is None:
            self._idle_timer = self.loop.call_later(IDLE_GRACE, self.idle.set)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks: set[asyncio.Task[None]] = set()
        self.connections += 1
        self.check_idle()
        try:
            first = await reader.readline()
            if not first:
                return
            msg = protocol.decode(first)
            if msg.get("op") in ("attach", "exec_attach"):
                await self.serve_attach(msg, reader, writer)
                return
            while True:
                t = asyncio.create_task(self.answer(msg, writer))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                line = await reader.readline()
                if not line:
                    break
                msg = protocol.decode(line)
        except (ConnectionError, ValueError) as e:
            log.debug("connection dropped: %s", e)
        finally:
            for t in tasks:
                t.cancel()
            writer.close()
            self.connections -= 1
            self.check_idle()

    async def answer(self, msg: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        seq, op = msg.pop("seq", 0), msg.pop("op", "")
        handler = getattr(self, f"op_{op}", None)
        try:
            if handler is None:
                raise errors.InvalidParameter(f"unknown operation {op!r}")
            reply: dict[str, Any] = {"seq": seq, "result": await handler(**msg)}
        except errors.DockyardError as e:
            reply = {"seq": seq, "error": {"kind": type(e).__name__, "message": e.message,
                                           "exit_code": getattr(e, "exit_code", None)}}
        except Exception as e:  # noqa: BLE001 - report, keep serving
            log.exception("%s failed", op)
            reply = {"seq": seq, "error": {"kind": "SystemFailure", "message": str(e)}}
        if not writer.is_closing():
            writer.write(protocol.encode(reply))

    async def serve_attach(self, msg: dict[str, Any], reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> None:
        result: dict[str, Any] | None = None
        try:
            if msg["op"] == "exec_attach":
                # Spawn and subscribe in one step, so not a byte of the exec's output is missed.
                c: Supervised = self.spawn_exec(msg["id"], msg["exec_id"], msg["process"], bool(msg.get("tty")),
                                               bool(msg.get("stdin")))
                result = {"pid": c.pid}
            else:
                c = self.get(msg["id"])
        except errors.DockyardError as e:
            writer.write(protocol.encode({"error": {"kind": type(e).__name__, "message": e.message,
                                                    "exit_code": getattr(e, "exit_code", None)}}))
            return
        sub = c.attach(writer, bool(msg.get("stdout")), bool(msg.get("stderr")))
        writer.write(protocol.encode({"result": result}))
        try:
            while True:
                head = await reader.readexactly(protocol.FRAME.size)
                kind, n = protocol.FRAME.unpack(head)
                data = await reader.readexactly(n) if n else b""
                if not msg.get("stdin"):
                    continue
                if kind == protocol.STDIN:
                    c.write_stdin(data)
                elif kind == protocol.CLOSE_STDIN:
                    c.close_stdin()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            c.detach(sub)


async def amain(exec_root: str, ready_fd: int = -1, keeper_fd: int = -1) -> None:
    sup = Supervisor(exec_root, KeeperLink(keeper_fd) if keeper_fd >= 0 else None)
    sup.load()
    loop = asyncio.get_running_loop()
    if sup.keeper is not None:
        sup.keeper.start(loop, sup.keeper_reaped)
    loop.add_signal_handler(signal.SIGCHLD, sup.reap)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    sock = os.path.join(exec_root, "supervisor.sock")
    try:
        os.unlink(sock)
    except FileNotFoundError:
        pass
    server = await asyncio.start_unix_server(sup.serve, sock)
    os.chmod(sock, 0o600)
    log.info("supervisor %d serving %s", os.getpid(), sock)
    if ready_fd >= 0:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    sup.reap()  # children that exited before the handler was installed
    sup.check_idle()
    idle = asyncio.ensure_future(sup.idle.wait())
    stopped = asyncio.ensure_future(stop.wait())
    async with server:
        await asyncio.wait([idle, stopped], return_when=asyncio.FIRST_COMPLETED)
        # no new connection from here on: a daemon that comes now starts a new keeper
        os.unlink(sock)
    if sup.idle.is_set():
        log.info("supervisor leaving: it holds no container and its daemon is gone")
        if sup.keeper is not None:
            sup.keeper.idle()
    else:
        log.info("supervisor stopping on SIGTERM; its keeper holds the containers for the next one")
    if sup.keeper is not None:
        sup.keeper.flush_blocking()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="dockyard-supervisor")
    ap.add_argument("--exec-root", required=True)
    ap.add_argument("--log-level", default="info")
    ap.add_argument("--ready-fd", type=int, default=-1, help="write one byte here once listening")
    ap.add_argument("--detach", action="store_true", help="fork and let the parent exit (not the caller's child)")
    ap.add_argument("--keeper-fd", type=int, default=-1, help="the socket to the keeper that started us")
    a = ap.parse_args(argv)
    if a.detach and os.fork() > 0:
        os._exit(0)
    os.makedirs(a.exec_root, exist_ok=True)
    # One supervisor per exec-root: a second one started in a race just leaves.
    if hold_pid_lock(os.path.join(a.exec_root, "supervisor.lock")) is None:
        sys.exit(0)
    logging.basicConfig(filename=os.path.join(a.exec_root, "supervisor.log"), level=a.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(message)s")
    set_child_subreaper()
    asyncio.run(amain(a.exec_root, a.ready_fd, a.keeper_fd))


if __name__ == "__main__":
    main()
