"""The seam between the supervisor and an OCI runtime: built-in (in-process fork) or a runc-compatible CLI."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
from typing import Any, Callable, Protocol

from . import builtin
from ..errors import ContainerNotFound, RuntimeCreateError, RuntimeFailure


class RuntimeDriver(Protocol):
    name: str

    def create(self, id: str, bundle: str, stdio: tuple[int | None, int, int], tty: bool) -> tuple[int, int | None]:
        """Create the container; return (host pid, pty master or None). The caller reaps the pid."""

    def start(self, id: str) -> None: ...

    def exec(self, id: str, exec_id: str, process: dict[str, Any], stdio: tuple[int | None, int, int],
             tty: bool) -> tuple[int, int | None]:
        """Start OCI `process` in running container `id`; return (host pid, pty master or None)."""

    def kill(self, id: str, sig: int, all: bool = False) -> None: ...

    def delete(self, id: str, force: bool = False) -> None: ...


def exit_code_for(message: str) -> int:
    """Docker's mapping of start failures to exit codes."""
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    if "permission denied" in message:
        return 126
    return 1


class BuiltinDriver:
    """Forks the container from the calling (single-threaded) process: no interpreter start-up per container."""

    name = "builtin"

    def __init__(self, state_root: str) -> None:
        self.state_root = state_root

    def create(self, id: str, bundle: str, stdio: tuple[int | None, int, int], tty: bool) -> tuple[int, int | None]:
        if not tty:
            return builtin.create(id, bundle, self.state_root, stdio), None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours, theirs:
            pid = builtin.create(id, bundle, self.state_root, stdio, console_socket=theirs.fileno())
            try:
                return pid, receive_pty(ours)
            except BaseException:
                builtin.delete(id, self.state_root, force=True)
                raise

    def start(self, id: str) -> None:
        builtin.start(id, self.state_root)

    def exec(self, id: str, exec_id: str, process: dict[str, Any], stdio: tuple[int | None, int, int],
             tty: bool) -> tuple[int, int | None]:
        if not tty:
            return builtin.exec_(id, self.state_root, process, stdio), None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours, theirs:
            pid = builtin.exec_(id, self.state_root, process, stdio, console_socket=theirs.fileno())
            try:
                return pid, receive_pty(ours)
            except BaseException:
                os.kill(pid, 9)
                raise

    def kill(self, id: str, sig: int, all: bool = False) -> None:
        builtin.kill(id, self.state_root, sig, all)

    def delete(self, id: str, force: bool = False) -> None:
        try:
            builtin.delete(id, self.state_root, force)
        except ContainerNotFound:
            pass


class CliDriver:
    """runc, crun or dockyard-runtime through runc's command line (one process per verb)."""

    def __init__(self, binary: str, state_root: str) -> None:
        self.name = os.path.basename(binary)
        self.binary = binary
        self.state_root = state_root
        os.makedirs(state_root, exist_ok=True)

    def _run(self, *args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([self.binary, "--root", self.state_root, *args], capture_output=True, **kw)  # type: ignore[call-overload]

    def create(self, id: str, bundle: str, stdio: tuple[int | None, int, int], tty: bool) -> tuple[int, int | None]:
        work = tempfile.mkdtemp(prefix="dy-create-")  # short: it holds the console socket
        return self._spawn(work, ["create", "--bundle", bundle], id, stdio, tty, "create", exit_code_for)

    def exec(self, id: str, exec_id: str, process: dict[str, Any], stdio: tuple[int | None, int, int],
             tty: bool) -> tuple[int, int | None]:
        work = tempfile.mkdtemp(prefix="dy-exec-")
        proc_file = os.path.join(work, "p.json")
        with open(proc_file, "w") as f:
            json.dump({**process, "terminal": tty}, f)
        # an exec that fails for another reason than a missing file cannot run: 126, like Docker
        return self._spawn(work, ["exec", "--process", proc_file, "--detach"], id, stdio, tty, "exec",
                           lambda msg: exit_code_for(msg) if exit_code_for(msg) != 1 else 126)

    def _spawn(self, work: str, verb: list[str], id: str, stdio: tuple[int | None, int, int],
               tty: bool, what: str, code_for: Callable[[str], int]) -> tuple[int, int | None]:
        """Run the runtime's `create` or `exec`: the new process' pid and, with a TTY, the pty master.

        `work` (removed here) holds the pid file, the runtime's log and the console socket.
        """
        pid_file, log_file, sock_path = (os.path.join(work, n) for n in ("pid", "log.json", "s"))
        cmd = [self.binary, "--root", self.state_root, "--log", log_file, "--log-format", "json",
               *verb, "--pid-file", pid_file]
        listener = None
        try:
            if tty:
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(sock_path)
                listener.listen(1)
                cmd += ["--console-socket", sock_path]
            # The runtime hands these fds on to the container's process (runc's "pass-through" stdio).
            rc = subprocess.run(cmd + [id], stdin=stdio[0] if stdio[0] is not None else subprocess.DEVNULL,
                                stdout=stdio[1], stderr=stdio[2]).returncode
            if rc != 0:
                msg = _last_error(log_file) or f"{self.name} {what} exited with {rc}"
                raise RuntimeCreateError(msg, code_for(msg))
            with open(pid_file) as f:
                pid = int(f.read().strip())
            master = None
            if listener is not None:
                listener.settimeout(5)
                conn, _ = listener.accept()
                with conn:
                    master = receive_pty(conn)
            return pid, master
        finally:
            if listener is not None:
                listener.close()
            shutil.rmtree(work, ignore_errors=True)

    def start(self, id: str) -> None:
        p = self._run("start", id)
        if p.returncode:
            raise RuntimeFailure(p.stderr.decode(errors="replace").strip())

    def kill(self, id: str, sig: int, all: bool = False) -> None:
        p = self._run("kill", *(["--all"] if all else []), id, str(sig))
        if p.returncode:
            raise RuntimeFailure(p.stderr.decode(errors="replace").strip())

    def delete(self, id: str, force: bool = False) -> None:
        self._run("delete", *(["--force"] if force else []), id)


def receive_pty(sock: socket.socket, timeout: float = 5.0) -> int:
    """The pty master a runtime sends over a console socket (SCM_RIGHTS)."""
    sock.settimeout(timeout)
    _, fds, _, _ = socket.recv_fds(sock, 4096, 1)
    if not fds:
        raise RuntimeFailure("the runtime sent no terminal over the console socket")
    return fds[0]


def _last_error(log_file: str) -> str:
    msg = ""
    try:
        with open(log_file) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("level") in ("error", "fatal"):
                    msg = entry.get("msg", "")
    except FileNotFoundError:
        pass
    return msg
