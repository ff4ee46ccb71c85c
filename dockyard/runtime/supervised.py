"""One supervised container: its stdio pipes or pty, log writer, attached clients, exit record."""
from __future__ import annotations

import asyncio
import errno
import logging
import os
from typing import TYPE_CHECKING, Any

from ..cgroups import DEFAULT_ROOT, open_cgroup
from ..linux.process import set_winsize
from ..logging import drivers as log_drivers
from ..logging.driver import LogWriter
from . import protocol
from .drivers import RuntimeDriver
from .state import atomic_write_json, now_rfc3339, proc_start_time, read_json

if TYPE_CHECKING:
    from .supervisor import Supervisor

log = logging.getLogger("dockyard.supervisor")
UNSET = "0001-01-01T00:00:00Z"
# How long output may stay open after the init died (a daemonised child holding the pipe) before we cut it.
DRAIN_TIMEOUT = 2.0


class Attach:
    def __init__(self, writer: asyncio.StreamWriter, stdout: bool, stderr: bool) -> None:
        self.writer, self.stdout, self.stderr = writer, stdout, stderr


class Supervised:
    """A container's init as the supervisor holds it (the daemon's record is containers/model.Container)."""

    def __init__(self, sup: "Supervisor", id: str, meta: dict[str, Any]) -> None:
        self.sup = sup
        self.id = id
        self.meta = meta
        self.pid: int = meta.get("pid", 0)
        self.record: dict[str, Any] = {"id": id, "pid": self.pid, "status": "created", "exit_code": 0,
                                       "oom_killed": False, "started_at": UNSET, "finished_at": UNSET}
        self.outputs: dict[int, str] = {}        # fd -> "stdout" | "stderr"
        self.stdin_fd = -1
        self.stdin_buf = bytearray()
        self.stdin_closing = False
        self.pty = -1
        self.attaches: list[Attach] = []
        self.waiters: list[asyncio.Future[dict[str, Any]]] = []
        self.writer: LogWriter | None = None
        self.exit_code: int | None = None
        self.driver: RuntimeDriver | None = None
        self.cgroup_path = ""
        self.held = False          # the keeper holds duplicates of our stdio fds
        self.keeper_reaped = False  # the keeper reaped us: ack once the exit is on disk

    # -- creation ------------------------------------------------------------------------------
    def spawn(self, driver: RuntimeDriver) -> None:
        """Make the stdio, let the runtime create the container, keep our ends of the stdio."""
        self.driver = driver
        tty, open_stdin = bool(self.meta.get("tty")), bool(self.meta.get("open_stdin"))
        ours: list[int] = []
        theirs: list[int] = []
        try:
            if tty:
                stdio: tuple[int | None, int, int] = (None, 1, 2)  # the driver makes the pty
            else:
                out_r, out_w = os.pipe()
                err_r, err_w = os.pipe()
                ours += [out_r, err_r]
                theirs += [out_w, err_w]
                self.outputs = {out_r: "stdout", err_r: "stderr"}
                in_r = None
                if open_stdin:
                    in_r, self.stdin_fd = os.pipe()
                    ours.append(self.stdin_fd)
                    theirs.append(in_r)
                stdio = (in_r, out_w, err_w)
            pid, master = self._runtime_create(driver, stdio, tty)
        except BaseException:
            for fd in ours:
                os.close(fd)
            self.outputs, self.stdin_fd = {}, -1
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        if master is not None:
            self.pty = master
            self.outputs = {master: "stdout"}
            if open_stdin:
                self.stdin_fd = master
        self.pid = self.record["pid"] = pid
        self._wire()

    def _wire(self) -> None:
        """Log writer, output readers, non-blocking stdin: once the stdio fds are ours."""
        if self.meta.get("bundle"):
            self.cgroup_path = _cgroups_path(self.meta["bundle"], self.id)
        if self.meta.get("log_path"):
            self.writer = self._open_log()
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sup.loop.add_reader(fd, self._on_output, fd)
        if self.stdin_fd >= 0:
            os.set_blocking(self.stdin_fd, False)

    def _open_log(self) -> LogWriter | None:
        """The container's log driver; one that cannot open (bad options from an older daemon) leaves no log."""
        try:
            return log_drivers.open_writer(self.meta["log_path"], self.meta.get("log"))
        except Exception as e:  # noqa: BLE001 - the container runs regardless, as with Docker's none
            log.warning("%s: log driver: %s", self.id, e)
            return None

    @property
    def keeper_key(self) -> str:
        """Under what the keeper holds our stdio."""
        return self.id

    def stdio_roles(self) -> dict[str, int]:
        """Our ends of the container's stdio by role, for the keeper to hold duplicates of."""
        if self.pty >= 0:
            return {"pty": self.pty}
        roles = {stream: fd for fd, stream in self.outputs.items()}
        if self.stdin_fd >= 0:
            roles["stdin"] = self.stdin_fd
        return roles

    def adopt(self, driver: RuntimeDriver, fds: dict[str, int]) -> None:
        """Take over a container from a supervisor that died, with the stdio fds its keeper held."""
        self.driver = driver
        self.held = True
        self.record["started_at"] = self.meta.get("started_at", UNSET)
        self.record["status"] = "running" if self.meta.get("started_at") else "created"
        if "pty" in fds:
            self.pty = fds["pty"]
            self.outputs = {self.pty: "stdout"}
            if self.meta.get("open_stdin"):
                self.stdin_fd = self.pty
        else:
            self.outputs = {fd: role for role, fd in fds.items() if role in ("stdout", "stderr")}
            self.stdin_fd = fds.get("stdin", -1)
        self._wire()

    def _runtime_create(self, driver: RuntimeDriver, stdio: tuple[int | None, int, int],
                        tty: bool) -> tuple[int, int | None]:
        return driver.create(self.id, self.meta["bundle"], stdio, tty)

    def start(self) -> None:
        assert self.driver is not None
        self.driver.start(self.id)
        self.record["status"] = "running"
        self.record["started_at"] = now_rfc3339()
        atomic_write_json(os.path.join(self.sup.cdir(self.id), "container.json"),
                          {**self.meta, "pid": self.pid, "started_at": self.record["started_at"]})

    def kill(self, sig: int, all: bool = False) -> None:
        if self.driver is not None:
            self.driver.kill(self.id, sig, all)
        elif self.pid and proc_start_time(self.pid) is not None:
            os.kill(self.pid, sig)  # an orphan from a previous supervisor

    def resize(self, height: int, width: int) -> None:
        if self.pty >= 0:
            set_winsize(self.pty, height, width)

    # -- output --------------------------------------------------------------------------------
    def _on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty's last slave closed
                log.warning("%s: read: %s", self.id, e)
            data = b""
        stream = self.outputs[fd]
        if not data:
            self._close_output(fd)
            return
        if self.writer is not None:
            self.writer.write(stream, data)
        kind = protocol.STDOUT if stream == "stdout" else protocol.STDERR
        frame = protocol.frame(kind, data)
        for a in self.attaches:
            if (a.stdout if kind == protocol.STDOUT else a.stderr) and not a.writer.is_closing():
                a.writer.write(frame)

    def _close_output(self, fd: int) -> None:
        stream = self.outputs.pop(fd)
        self.sup.loop.remove_reader(fd)
        if self.writer is not None:
            self.writer.flush(stream)
        if fd == self.pty:
            # The master doubles as stdin; keep it open until the exit is recorded.
            pass
        else:
            os.close(fd)
        if not self.outputs:
            self._maybe_finish()

    # -- stdin -------------------------------------------------------------------------------
    def write_stdin(self, data: bytes) -> None:
        if self.stdin_fd < 0 or self.stdin_closing:
            return
        self.stdin_buf += data
        self._drain_stdin()

    def close_stdin(self) -> None:
        if self.stdin_fd < 0 or self.stdin_fd == self.pty:
            return  # a pty stays open: closing the master would hang the session up
        self.stdin_closing = True
        if self.held and self.sup.keeper is not None:
            self.sup.keeper.drop(self.keeper_key, ["stdin"])  # its duplicate would keep EOF from the container
        self._drain_stdin()

    def _drain_stdin(self) -> None:
        fd = self.stdin_fd
        if fd < 0:
            return
        try:
            while self.stdin_buf:
                n = os.write(fd, self.stdin_buf)
                del self.stdin_buf[:n]
        except BlockingIOError:
            self.sup.loop.add_writer(fd, self._drain_stdin)
            return
        except OSError:
            self.stdin_buf.clear()  # EPIPE: nobody reads stdin any more
        self.sup.loop.remove_writer(fd)
        if self.stdin_closing and fd != self.pty:
            os.close(fd)
            self.stdin_fd = -1

    # -- attach --------------------------------------------------------------------------------
    def attach(self, writer: asyncio.StreamWriter, stdout: bool, stderr: bool) -> Attach:
        a = Attach(writer, stdout, stderr)
        if self.record["status"] == "exited" or not self.outputs and self.pid == 0:
            writer.write(protocol.frame(protocol.END))
        else:
            self.attaches.append(a)
        return a

    def detach(self, a: Attach) -> None:
        if a in self.attaches:
            self.attaches.remove(a)

    # -- exit ------------------------------------------------------------------------------------
    def exited(self, code: int) -> None:
        """The init was reaped; finish once its output is drained (or after DRAIN_TIMEOUT)."""
        self.exit_code = 128 - code if code < 0 else code  # waitstatus_to_exitcode gives -signal
        self.record["finished_at"] = now_rfc3339()
        self._note_reaped()
        if self.outputs:
            self.sup.loop.call_later(DRAIN_TIMEOUT, self._force_finish)
        self._maybe_finish()

    def _force_finish(self) -> None:
        for fd in list(self.outputs):
            self._close_output(fd)

    def _maybe_finish(self) -> None:
        if self.exit_code is None or self.outputs or self.record["status"] == "exited":
            return
        self.record["oom_killed"] = self._oom_killed()
        try:
            if self.driver is not None:
                self.driver.delete(self.id, force=True)
        except Exception as e:  # noqa: BLE001 - the exit must be recorded regardless
            log.warning("%s: runtime delete: %s", self.id, e)
        self.record.update(status="exited", exit_code=self.exit_code)
        atomic_write_json(os.path.join(self.sup.cdir(self.id), "exit.json"), self.record)
        if self.keeper_reaped and self.sup.keeper is not None:
            self.sup.keeper.ack([self.pid])
        self._finished()

    def _note_reaped(self) -> None:
        """The code is known before the output is drained: a supervisor that dies meanwhile must not lose it."""
        atomic_write_json(os.path.join(self.sup.cdir(self.id), "reaped.json"),
                          {"exit_code": self.exit_code, "finished_at": self.record["finished_at"]})

    def _finished(self) -> None:
        """The exit is recorded: free stdio, end every attach and answer every waiter."""
        self._release()
        for a in self.attaches:
            if not a.writer.is_closing():
                a.writer.write(protocol.frame(protocol.END))
        self.attaches.clear()
        for w in self.waiters:
            if not w.done():
                w.set_result(dict(self.record))
        self.waiters.clear()

    def _oom_killed(self) -> bool:
        if not self.cgroup_path:
            return False
        try:
            return open_cgroup(self.cgroup_path, DEFAULT_ROOT).oom_killed()
        except OSError:
            return False

    def _release(self) -> None:
        if self.held and self.sup.keeper is not None:
            self.sup.keeper.drop(self.keeper_key)
            self.held = False
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        for fd in {self.stdin_fd, self.pty} - {-1}:
            self.sup.loop.remove_writer(fd)
            os.close(fd)
        self.stdin_fd = self.pty = -1

    async def wait(self) -> dict[str, Any]:
        if self.record["status"] == "exited":
            return dict(self.record)
        fut: asyncio.Future[dict[str, Any]] = self.sup.loop.create_future()
        self.waiters.append(fut)
        return await fut

    def forget(self) -> None:
        for fd in list(self.outputs):
            self._close_output(fd)
        self._release()

    def orphaned(self, driver: RuntimeDriver) -> None:
        """Left by a supervisor that died: running if its init is still alive (we cannot reap it), else lost."""
        self.driver = driver
        self.record["started_at"] = self.meta.get("started_at", UNSET)
        if self.pid and proc_start_time(self.pid) is not None:
            self.record["status"] = "running"
            self.watch_pidfd()
        else:
            try:
                driver.delete(self.id, force=True)  # its runtime state and cgroup
            except Exception as e:  # noqa: BLE001 - reported lost either way
                log.warning("%s: runtime delete: %s", self.id, e)
            self.record.update(status="exited", exit_code=255, finished_at=now_rfc3339())


    def watch_pidfd(self) -> None:
        """Not our child nor our keeper's: a pidfd still tells us when it ends (the code is lost: 255)."""
        try:
            pidfd = os.pidfd_open(self.pid)
        except OSError:
            self.exited(255)
            return

        def gone() -> None:
            self.sup.loop.remove_reader(pidfd)
            os.close(pidfd)
            self.exited(255)
        self.sup.loop.add_reader(pidfd, gone)


class SupervisedExec(Supervised):
    """A process started in a running container (exec): the same stdio handling, no log, no runtime state."""

    def __init__(self, sup: "Supervisor", container: Supervised, exec_id: str, meta: dict[str, Any]) -> None:
        super().__init__(sup, exec_id, meta)
        self.container = container

    @property
    def keeper_key(self) -> str:
        return "exec:" + self.id

    @property
    def record_path(self) -> str:
        """What a next supervisor needs to adopt the exec (only while the keeper holds its stdio)."""
        return os.path.join(self.sup.cdir(self.container.id), f"exec-{self.id}.json")

    def adopt(self, driver: RuntimeDriver, fds: dict[str, int]) -> None:
        super().adopt(driver, fds)
        self.record.update(status="running", started_at=self.meta.get("started_at", UNSET))

    def _release(self) -> None:
        held = self.held
        super()._release()
        if held:
            try:
                os.unlink(self.record_path)
            except FileNotFoundError:
                pass

    def _runtime_create(self, driver: RuntimeDriver, stdio: tuple[int | None, int, int],
                        tty: bool) -> tuple[int, int | None]:
        return driver.exec(self.container.id, self.id, self.meta["process"], stdio, tty)

    def spawn(self, driver: RuntimeDriver) -> None:
        super().spawn(driver)
        self.record.update(status="running", started_at=now_rfc3339())

    def kill(self, sig: int, all: bool = False) -> None:
        if self.record["status"] == "running" and proc_start_time(self.pid) is not None:
            os.kill(self.pid, sig)

    def _note_reaped(self) -> None:
        pass  # an exec has no record on disk

    def _maybe_finish(self) -> None:
        if self.exit_code is None or self.outputs or self.record["status"] == "exited":
            return
        self.record.update(status="exited", exit_code=self.exit_code)
        if self.keeper_reaped and self.sup.keeper is not None:
            self.sup.keeper.ack([self.pid])
        self._finished()


def _cgroups_path(bundle: str, id: str) -> str:
    try:
        return read_json(os.path.join(bundle, "config.json")).get("linux", {}).get("cgroupsPath") or f"/dockyard/{id}"
    except (OSError, ValueError):
        return ""

