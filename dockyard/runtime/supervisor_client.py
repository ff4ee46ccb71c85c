"""The daemon's asyncio client of the supervisor; starts the supervisor (detached) when nobody answers."""
from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from typing import Any

from .. import errors
from . import protocol

_SPAWN_TIMEOUT = 10.0
_RESPAWN_AFTER = 0.5


def _spawn(exec_root: str, log_level: str) -> None:
    """Start a detached keeper (which starts the supervisor) and wait until the supervisor listens
    (or until the keeper decides that another one already runs: it then restarts the supervisor)."""
    os.makedirs(exec_root, exist_ok=True)
    r, w = os.pipe()
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        with open(os.path.join(exec_root, "supervisor.log"), "ab") as logf:
            p = subprocess.Popen(
                # -S: the keeper needs only the standard library and our own package
                [sys.executable, "-S", "-m", "dockyard.runtime.keeper", "--exec-root", exec_root,
                 "--log-level", log_level, "--ready-fd", str(w), "--detach"],
                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, pass_fds=(w,), start_new_session=True,
                cwd="/", env=env)
        os.close(w)
        w = -1
        p.wait()  # the intermediate process exits at once; the keeper is nobody's child but init's
        os.read(r, 1)  # returns b"" if the supervisor died (or lost the lock race): the caller retries connect
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def _error(err: dict[str, Any]) -> errors.DockyardError:
    cls = getattr(errors, err.get("kind", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.DockyardError)):
        cls = errors.SystemFailure
    e = cls(err.get("message", "supervisor error"))
    if err.get("exit_code") is not None:
        e.exit_code = err["exit_code"]  # type: ignore[attr-defined]
    return e


class AttachStream:
    """One attach: the container's output as (stream, bytes), and a way to its stdin."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._r, self._w = reader, writer
        self._done = False
        self.pid = 0

    async def read(self) -> tuple[int, bytes] | None:
        if self._done:
            return None
        try:
            kind, n = protocol.FRAME.unpack(await self._r.readexactly(protocol.FRAME.size))
            data = await self._r.readexactly(n) if n else b""
        except (asyncio.IncompleteReadError, ConnectionError):
            kind = protocol.END
        if kind == protocol.END:
            self._done = True
            return None
        return kind, data

    async def write(self, data: bytes) -> None:
        if data:
            self._w.write(protocol.frame(protocol.STDIN, data))
            await self._w.drain()

    async def close_stdin(self) -> None:
        self._w.write(protocol.frame(protocol.CLOSE_STDIN))
        await self._w.drain()

    async def close(self) -> None:
        self._w.close()
        try:
            await self._w.wait_closed()
        except ConnectionError:
            pass


class SupervisorClient:
    def __init__(self, exec_root: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 log_level: str = "info") -> None:
        self.exec_root = exec_root
        self.log_level = log_level
        self._reconnecting = asyncio.Lock()
        self._r, self._w = reader, writer
        self._seq = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader_task = asyncio.create_task(self._read_loop())

    @property
    def socket_path(self) -> str:
        return os.path.join(self.exec_root, "supervisor.sock")

    @classmethod
    async def _open(cls, exec_root: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_unix_connection(os.path.join(exec_root, "supervisor.sock"), limit=1 << 24)

    @classmethod
    async def connect(cls, exec_root: str, log_level: str = "info") -> "SupervisorClient":
        exec_root = os.path.abspath(exec_root)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SPAWN_TIMEOUT
        spawned = -1.0
        while True:
            try:
                r, w = await cls._open(exec_root)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if loop.time() > deadline:
                    raise errors.Unavailable(f"supervisor did not start; see {exec_root}/supervisor.log") from None
                # Nobody listens: start a keeper. Again after a while, in case the one that held
                # the lock was an idle one on its way out (then nobody would start a supervisor).
                if spawned < 0 or loop.time() - spawned > _RESPAWN_AFTER:
                    spawned = loop.time()
                    await asyncio.to_thread(_spawn, exec_root, log_level)
                else:
                    await asyncio.sleep(0.02)
        return cls(exec_root, r, w, log_level)

    async def _reconnect(self) -> None:
        """A supervisor that died is started again, so the daemon keeps working.

        The containers the old one held are gone with it (their processes lost their
        holder of stdio); their waits already failed with Unavailable.
        """
        async with self._reconnecting:
            if not self._reader_task.done():
                return
            fresh = await SupervisorClient.connect(self.exec_root, self.log_level)
            fresh._reader_task.cancel()
            self._r, self._w = fresh._r, fresh._w
            self._reader_task = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while line := await self._r.readline():
                msg = protocol.decode(line)
                fut = self._pending.pop(msg.get("seq", 0), None)
                if fut is None or fut.done():
                    continue
                if "error" in msg:
                    fut.set_exception(_error(msg["error"]))
                else:
                    fut.set_result(msg.get("result"))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(errors.Unavailable("connection to the supervisor lost"))
            self._pending.clear()

    async def _call(self, op: str, **kw: Any) -> Any:
        if self._reader_task.done():
            await self._reconnect()
        seq = next(self._seq)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[seq] = fut
        self._w.write(protocol.encode({"seq": seq, "op": op, **kw}))
        await self._w.drain()
        return await fut

    async def create(self, id: str, bundle: str, log_path: str, tty: bool = False, open_stdin: bool = False,
                     runtime: str = "builtin", log: dict[str, Any] | None = None) -> int:
        res = await self._call("create", id=id, bundle=bundle, log_path=log_path, tty=tty,
                               open_stdin=open_stdin, runtime=runtime, log=log)
        return int(res["pid"])

    async def start(self, id: str) -> None:
        await self._call("start", id=id)

    async def kill(self, id: str, signal: int) -> None:
        await self._call("kill", id=id, signal=int(signal))

    async def delete(self, id: str) -> None:
        await self._call("delete", id=id)

    async def list(self) -> list[dict[str, Any]]:
        return list(await self._call("list"))

    async def wait_exit(self, id: str) -> dict[str, Any]:
        return dict(await self._call("wait_exit", id=id))

    async def resize(self, id: str, height: int, width: int) -> None:
        await self._call("resize", id=id, height=height, width=width)

    async def attach(self, id: str, stdin: bool, stdout: bool, stderr: bool) -> AttachStream:
        return await self._attach({"op": "attach", "id": id, "stdin": stdin, "stdout": stdout, "stderr": stderr})

    async def _attach(self, request: dict[str, Any]) -> AttachStream:
        r, w = await self._open(self.exec_root)
        w.write(protocol.encode(request))
        await w.drain()
        line = await r.readline()
        msg = protocol.decode(line) if line else {"error": {"kind": "Unavailable", "message": "supervisor closed"}}
        if "error" in msg:
            w.close()
            raise _error(msg["error"])
        stream = AttachStream(r, w)
        stream.pid = int((msg.get("result") or {}).get("pid") or 0)
        return stream

    # -- exec --------------------------------------------------------------------------------
    async def exec_attached(self, id: str, exec_id: str, process: dict[str, Any], tty: bool, stdin: bool,
                            stdout: bool, stderr: bool) -> AttachStream:
        """Start an exec and stream its stdio (its pid is `stream.pid`)."""
        return await self._attach({"op": "exec_attach", "id": id, "exec_id": exec_id, "process": process,
                                   "tty": tty, "stdin": stdin, "stdout": stdout, "stderr": stderr})

    async def exec_detached(self, id: str, exec_id: str, process: dict[str, Any], tty: bool) -> int:
        res = await self._call("exec", id=id, exec_id=exec_id, process=process, tty=tty, open_stdin=False)
        return int(res["pid"])

    async def exec_wait(self, exec_id: str) -> dict[str, Any]:
        return dict(await self._call("exec_wait", exec_id=exec_id))

    async def exec_resize(self, exec_id: str, height: int, width: int) -> None:
        await self._call("exec_resize", exec_id=exec_id, height=height, width=width)

    async def exec_forget(self, exec_id: str) -> None:
        await self._call("exec_forget", exec_id=exec_id)

    async def close(self) -> None:
        self._reader_task.cancel()
        self._w.close()
        try:
            await self._w.wait_closed()
        except ConnectionError:
            pass
