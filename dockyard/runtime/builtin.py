"""The built-in OCI runtime as a library: create, start, kill, delete and state of containers from bundles."""
from __future__ import annotations

import errno
import json
import os
import re
import select
import signal as signals
import time
from typing import Any

from ..cgroups import DEFAULT_ROOT, Resources, is_v2, open_cgroup
from ..errors import ContainerNotFound, ContainerNotRunning, RuntimeCreateError, RuntimeFailure
from ..linux import seccomp as seccomplib
from ..linux.namespaces import CLONE_NEWPID, OCI_TYPES, PROC_NAMES, setns, setns_path, unshare
from . import execproc
from . import init as initlib
from .state import atomic_write_json, now_rfc3339, proc_start_time

OCI_VERSION = "1.0.2"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def _state_dir(state_root: str, container_id: str) -> str:
    if not _ID.match(container_id):
        raise RuntimeFailure(f"invalid container id format: {container_id}")
    return os.path.join(state_root, container_id)


def _load(container_id: str, state_root: str) -> dict[str, Any]:
    try:
        with open(os.path.join(_state_dir(state_root, container_id), "state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ContainerNotFound(f"container does not exist: {container_id}") from None


def _alive(st: dict[str, Any]) -> bool:
    """The init is alive (not a zombie) and still the process we started (pid reuse)."""
    pid = st.get("pid") or 0
    if pid <= 0:
        return False
    started = proc_start_time(pid)
    return started is not None and started == st.get("starttime")


def create(container_id: str, bundle: str, state_root: str,
           stdio: tuple[int | None, int, int] = (None, 1, 2), console_socket: int | None = None,
           cgroup_root: str = DEFAULT_ROOT) -> int:
    """Set the container up to the point of execve and return its host pid; the caller must reap it.

    With `console_socket` (a connected unix socket) the init opens a pty inside the container and
    sends its master back over that socket before it reports ready.
    """
    sdir = _state_dir(state_root, container_id)
    bundle = os.path.abspath(bundle)
    try:
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        raise RuntimeCreateError(f"cannot load bundle config: {e}") from None
    os.makedirs(state_root, mode=0o711, exist_ok=True)
    try:
        os.mkdir(sdir, 0o711)
    except FileExistsError:
        if not _stale(container_id, state_root):
            raise RuntimeCreateError(f"container with id exists: {container_id}") from None
        try:
            delete(container_id, state_root, force=True)  # left by a supervisor that died
        except ContainerNotFound:
            _remove_dir(sdir)
        os.mkdir(sdir, 0o711)
    linux = spec.get("linux") or {}
    ns = linux.get("namespaces") or []
    if any(n.get("type") == "user" for n in ns):
        _remove_dir(sdir)
        raise RuntimeCreateError("user namespaces are not supported by the built-in runtime")
    rootfs = os.path.realpath(os.path.join(bundle, (spec.get("root") or {}).get("path", "rootfs")))
    cg_path = linux.get("cgroupsPath") or f"/dockyard/{container_id}"
    cg = open_cgroup(cg_path, cgroup_root)
    fifo = os.path.join(sdir, "exec.fifo")
    pid = 0
    r = w = -1
    try:
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # any container uid may write its start byte
        cg.create(Resources.from_oci(linux.get("resources")))
        args = initlib.InitArgs(
            spec=spec, rootfs=rootfs, sync_fd=-1, fifo_path=fifo, cgroup=cg, stdio=stdio,
            console_socket=console_socket, v2_host=is_v2(cgroup_root),
            join={n["type"]: n["path"] for n in ns if n.get("path") and n["type"] != "pid"},
            new=sum(OCI_TYPES[n["type"]] for n in ns if not n.get("path") and n["type"] != "pid"),
            seccomp_bpf=seccomplib.compile_bpf(linux["seccomp"]) if linux.get("seccomp") else None,
        )
        r, w = os.pipe2(os.O_CLOEXEC)
        args.sync_fd = w
        pid = _fork_init(args, next((n for n in ns if n.get("type") == "pid"), None))
        os.close(w)
        w = -1
        msg = _read_report(r)
        if msg.get("type") != "ready":
            raise RuntimeCreateError(msg.get("message") or "container init exited unexpectedly",
                                     int(msg.get("code") or 1))
        atomic_write_json(os.path.join(sdir, "state.json"), {
            "ociVersion": spec.get("ociVersion", OCI_VERSION), "id": container_id, "pid": pid,
            "bundle": bundle, "rootfs": rootfs, "created": now_rfc3339(), "starttime": proc_start_time(pid),
            "cgroupsPath": cg_path, "cgroupRoot": cgroup_root, "annotations": spec.get("annotations") or {},
        })
        return pid
    except BaseException:
        # Leave nothing behind: the init, its cgroup, the state dir.
        if pid > 0:
            _kill_and_reap(pid)
        if cg.exists():
            cg.kill_all()
            cg.delete()
        _remove_dir(sdir)
        raise
    finally:
        for fd in (r, w):
            if fd >= 0:
                os.close(fd)


def _stale(container_id: str, state_root: str) -> bool:
    """A state dir whose init is gone (its supervisor was killed): safe to delete and reuse."""
    try:
        return not _alive(_load(container_id, state_root))
    except (ContainerNotFound, ValueError):
        return not os.path.exists(os.path.join(_state_dir(state_root, container_id), "exec.fifo"))


def _fork_init(args: initlib.InitArgs, pid_ns: dict[str, Any] | None) -> int:
    """Fork the container's pid 1. With a pid namespace we switch our pid_for_children and back,
    so the init is our direct child: one fork, and the caller reaps it (no reparenting needed)."""
    own = -1
    if pid_ns is not None:
        own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if pid_ns.get("path"):
                setns_path(pid_ns["path"], CLONE_NEWPID)
            else:
                unshare(CLONE_NEWPID)
        except BaseException:
            os.close(own)
            raise
    try:
        pid = os.fork()
        if pid == 0:
            initlib.run(args)  # never returns
            os._exit(1)
        return pid
    finally:
        if own >= 0:
            setns(own, CLONE_NEWPID)
            os.close(own)


def exec_(container_id: str, state_root: str, process: dict[str, Any],
          stdio: tuple[int | None, int, int] = (None, 1, 2), console_socket: int | None = None) -> int:
    """Start `process` (OCI `process`) in the running container: its cgroup, every namespace of its
    init, and return the host pid (the caller reaps it). Like `runc exec --process`."""
    st = _load(container_id, state_root)
    if not _alive(st):
        raise ContainerNotRunning("cannot exec in a stopped container")
    init_pid = st["pid"]
    fds: dict[str, int] = {}
    r = w = -1
    pid = 0
    try:
        for typ, name in PROC_NAMES.items():
            if typ == "user":
                continue
            theirs = f"/proc/{init_pid}/ns/{name}"
            try:
                if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                    continue  # shared with the host (e.g. --network host): nothing to join
                fds[typ] = os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
        cg = open_cgroup(st["cgroupsPath"], st.get("cgroupRoot", DEFAULT_ROOT))
        r, w = os.pipe2(os.O_CLOEXEC)
        args = execproc.ExecArgs(process=process, sync_fd=w, cgroup=cg, stdio=stdio,
                                 console_socket=console_socket, seccomp_bpf=_container_seccomp(st),
                                 join={t: fd for t, fd in fds.items() if t != "pid"})
        pid_fd = fds.get("pid")
        own = -1
        if pid_fd is not None:
            own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            setns(pid_fd, CLONE_NEWPID)
        try:
            pid = os.fork()
            if pid == 0:
                execproc.run(args)  # never returns
                os._exit(1)
        finally:
            if own >= 0:
                setns(own, CLONE_NEWPID)
                os.close(own)
        os.close(w)
        w = -1
        msg = _read_report(r)
        if msg.get("type") == "error":
            _kill_and_reap(pid)
            raise RuntimeCreateError(msg.get("message") or "exec failed", int(msg.get("code") or 1))
        return pid
    finally:
        for fd in [r, w, *fds.values()]:
            if fd >= 0:
                os.close(fd)


def _read_report(fd: int) -> dict[str, Any]:
    buf = b""
    while b"\n" not in buf:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    line = buf.split(b"\n", 1)[0]
    try:
        return json.loads(line) if line else {}
    except ValueError:
        return {"type": "error", "message": line.decode(errors="replace")}


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signals.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _remove_dir(d: str) -> None:
    for name in ("exec.fifo", "state.json"):
        try:
            os.unlink(os.path.join(d, name))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(d)
    except OSError:
        pass


def start(container_id: str, state_root: str, timeout: float = 10.0) -> None:
    """Let a created container execve its process: read its start byte from the FIFO."""
    st = _load(container_id, state_root)
    fifo = os.path.join(_state_dir(state_root, container_id), "exec.fifo")
    try:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise RuntimeFailure("cannot start a container that has already been started") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready and os.read(fd, 1):
                break
            if not _alive(st):
                raise ContainerNotRunning("cannot start a container that has stopped")
            if time.monotonic() > deadline:
                raise RuntimeFailure("timed out waiting for the container to start")
    finally:
        os.close(fd)
    os.unlink(fifo)


def state(container_id: str, state_root: str) -> dict[str, Any]:
    st = _load(container_id, state_root)
    sdir = _state_dir(state_root, container_id)
    if not _alive(st):
        status = "stopped"
    elif os.path.exists(os.path.join(sdir, "exec.fifo")):
        status = "created"
    else:
        status = "running"
    return {"ociVersion": st["ociVersion"], "id": container_id, "status": status,
            "pid": st["pid"] if status != "stopped" else 0, "bundle": st["bundle"],
            "rootfs": st.get("rootfs", ""), "created": st.get("created", ""),
            "annotations": st.get("annotations") or {}}


def kill(container_id: str, state_root: str, signal: int = signals.SIGTERM, all: bool = False) -> None:
    st = _load(container_id, state_root)
    if all:
        open_cgroup(st["cgroupsPath"], st.get("cgroupRoot", DEFAULT_ROOT)).kill_all(signal)
        return
    if not _alive(st):
        raise ContainerNotRunning("container not running")
    os.kill(st["pid"], signal)


def delete(container_id: str, state_root: str, force: bool = False) -> None:
    """Remove the cgroup and the state; a live container needs `force` (then everything in it is killed)."""
    st = _load(container_id, state_root)
    cg = open_cgroup(st["cgroupsPath"], st.get("cgroupRoot", DEFAULT_ROOT))
    if _alive(st):
        status = state(container_id, state_root)["status"]
        if status == "running" and not force:
            raise RuntimeFailure(f"cannot delete container {container_id} that is not stopped: {status}")
        try:
            os.kill(st["pid"], signals.SIGKILL)
        except ProcessLookupError:
            pass
    if cg.exists():
        cg.kill_all()
        try:
            cg.delete()
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
    _remove_dir(_state_dir(state_root, container_id))


def _container_seccomp(st: dict) -> bytes | None:
    """The container's `linux.seccomp`, compiled: an exec runs under the container's filter."""
    try:
        with open(os.path.join(st["bundle"], "config.json")) as f:
            config = (json.load(f).get("linux") or {}).get("seccomp")
    except (OSError, ValueError, KeyError):
        return None
    return seccomplib.compile_bpf(config) if config else None
