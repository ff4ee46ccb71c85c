"""The container's first process (pid 1) between fork and execve: namespaces, rootfs, user, caps, exec lookup."""
from __future__ import annotations

import errno
import json
import os
import signal
import socket
import stat
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..cgroups import Cgroup
from ..linux import caps as capslib
from ..linux import process as proc
from ..linux import seccomp as seccomplib
from ..linux.kernel import Kernel
from ..linux.namespaces import OCI_TYPES
from . import rootfs as rootfslib

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Python ignores these; a container must not inherit that (e.g. `yes | head` relies on SIGPIPE).
_RESET_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD,
                  signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


class ExecError(Exception):
    """The process cannot be started; `code` is the exit status Docker reports (127 / 126)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class InitArgs:
    spec: dict[str, Any]
    rootfs: str
    sync_fd: int
    fifo_path: str
    cgroup: Cgroup | None
    stdio: tuple[int | None, int, int]
    console_socket: int | None = None                    # connected unix socket: the pty master goes back on it
    v2_host: bool = False
    join: dict[str, str] = field(default_factory=dict)   # OCI type -> ns path to setns into
    new: int = 0                                          # clone flags to unshare (pid excluded: done by our parent)
    seccomp_bpf: bytes | None = None                      # linux.seccomp compiled by the parent (cached)


def lookup(name: str, env_path: str) -> str:
    """Go's exec.LookPath semantics, which runc's messages (and Docker's exit codes) come from."""
    def check(p: str) -> str | None:
        try:
            st = os.stat(p)
        except OSError as e:
            return e.strerror
        if stat.S_ISDIR(st.st_mode) or not os.access(p, os.X_OK):
            return "permission denied"
        return None

    if "/" in name:
        err = check(name)
        if err is None:
            return name
        if err == "permission denied":
            raise ExecError(f'exec: "{name}": permission denied', 126)
        raise ExecError(f'exec: "{name}": stat {name}: {err.lower()}', 127)
    for d in (env_path or DEFAULT_PATH).split(":"):
        cand = os.path.join(d or ".", name)
        if check(cand) is None:
            return cand
    raise ExecError(f'exec: "{name}": executable file not found in $PATH', 127)


def _send(fd: int, msg: dict[str, Any]) -> None:
    os.write(fd, json.dumps(msg).encode() + b"\n")


def _stdio(a: InitArgs) -> None:
    """A new session; pipes (or the caller's fds) as 0/1/2 unless a terminal comes later (`console`)."""
    os.setsid()
    if a.console_socket is not None:
        return
    stdin = a.stdio[0] if a.stdio[0] is not None else os.open("/dev/null", os.O_RDONLY)
    _dup_stdio((stdin, a.stdio[1], a.stdio[2]))


def _dup_stdio(fds: tuple[int, int, int]) -> None:
    # Lift them above 2 first, so e.g. stdout_fd == 0 is not clobbered by stdin's dup2.
    high = [os.dup(fd) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
        os.close(fd)


def console(sock_fd: int, uid: int) -> None:
    """OCI `process.terminal`: open a pty in the container's own devpts (after pivot_root), hand the
    master to whoever holds the other end of `sock_fd` (SCM_RIGHTS, like runc's --console-socket),
    and make the slave our controlling terminal and stdio."""
    master, slave = proc.open_pty("/dev/ptmx")
    try:
        with socket.socket(fileno=os.dup(sock_fd)) as s:
            socket.send_fds(s, [b"/dev/ptmx"], [master])
    finally:
        os.close(master)
        os.close(sock_fd)
    if uid:
        os.fchown(slave, uid, -1)
    proc.make_controlling_tty(slave)
    _dup_stdio((slave, slave, slave))
    os.close(slave)


def _user_and_caps(proc_spec: dict[str, Any], bounding: int) -> None:
    c = proc_spec.get("capabilities") or {}
    want_bnd = capslib.to_mask(c.get("bounding")) & bounding
    capslib.drop_bounding(want_bnd, bounding)
    user = proc_spec.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    proc.set_keepcaps(True)           # keep the permitted set across setuid to a non-root uid
    os.setgroups([int(g) for g in user.get("additionalGids") or []])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    proc.set_keepcaps(False)
    proc.set_dumpable(True)           # setuid cleared it, and we still reopen /proc/self/fd/N
    permitted = capslib.to_mask(c.get("permitted")) & bounding
    capslib.capset(capslib.to_mask(c.get("effective")) & permitted, permitted,
                   capslib.to_mask(c.get("inheritable")) & bounding)
    ambient = capslib.to_mask(c.get("ambient")) & permitted & capslib.to_mask(c.get("inheritable"))
    if ambient:
        capslib.set_ambient(ambient)


def run(a: InitArgs, k: Kernel | None = None) -> NoReturn:
    """Set the container up; report ready (or why not) on the sync pipe; wait for start; execve."""
    k = k or Kernel()
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for s in _RESET_SIGNALS:
            signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.umask(0)
        # Built now: libseccomp is a host library, out of reach once we pivot into the rootfs.
        if a.seccomp_bpf:
            filt: Any = seccomplib.CompiledFilter(a.seccomp_bpf)
        else:
            filt = seccomplib.build(a.spec["linux"]["seccomp"]) \
                if (a.spec.get("linux") or {}).get("seccomp") else None
        if a.cgroup is not None:
            a.cgroup.add(0)
        for typ, path in a.join.items():
            k.setns_path(path, OCI_TYPES[typ])
        if a.new:
            k.unshare(a.new)
        _stdio(a)
        fifo = os.open(a.fifo_path, os.O_PATH | os.O_CLOEXEC)
        spec = a.spec
        linux = spec.get("linux") or {}
        new_net = bool(a.new & OCI_TYPES["network"])
        rootfslib.setup(k, spec, a.rootfs, a.v2_host, new_net or "network" in a.join)
        if spec.get("hostname") and a.new & OCI_TYPES["uts"]:
            k.sethostname(spec["hostname"])
        if new_net:
            k.link_up("lo")
        for key, value in (linux.get("sysctl") or {}).items():
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(str(value))
        rootfslib.finish(k, spec)
        p = spec.get("process") or {}
        if a.console_socket is not None:
            console(a.console_socket, int((p.get("user") or {}).get("uid", 0)))
        for rl in p.get("rlimits") or []:
            proc.set_rlimit(rl["type"], int(rl["soft"]), int(rl["hard"]))
        if p.get("oomScoreAdj") is not None:
            proc.set_oom_score_adj(int(p["oomScoreAdj"]))
        cwd = p.get("cwd") or "/"
        os.makedirs(cwd, exist_ok=True)
        if filt is not None and not p.get("noNewPrivileges"):
            filt.load()  # without no_new_privs, loading needs CAP_SYS_ADMIN: before caps drop
        _user_and_caps(p, k.bounding_set())
        if p.get("noNewPrivileges"):
            proc.set_no_new_privs()
            if filt is not None:
                filt.load()
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in p.get("env") or [])
        os.chdir(cwd)
        args = p.get("args") or []
        if not args:
            raise ExecError("args must not be empty", 127)
        path = lookup(args[0], env.get("PATH", DEFAULT_PATH))
        os.umask(int(p["user"]["umask"]) if (p.get("user") or {}).get("umask") is not None else 0o022)
        _send(a.sync_fd, {"type": "ready"})
        # Blocks until `start` opens the FIFO for reading.
        w = os.open(f"/proc/self/fd/{fifo}", os.O_WRONLY | os.O_CLOEXEC)
        os.write(w, b"0")
        os.close(w)
        os.closerange(3, 1 << 16)  # nothing of the supervisor's may leak into the container
        try:
            os.execve(path, args, env)
        except OSError as e:
            code = 126 if e.errno in (errno.EACCES, errno.EPERM, errno.ENOEXEC) else 127
            os.write(2, f"exec {args[0]}: {e.strerror}\n".encode())
    except ExecError as e:
        code = e.code
        _try_send(a.sync_fd, {"type": "error", "message": str(e), "code": e.code})
    except BaseException as e:  # noqa: BLE001 - anything must become a report, never a traceback in the supervisor
        _try_send(a.sync_fd, {"type": "error", "message": _describe(e), "code": 1})
    os._exit(code)


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}: {e.filename}" if e.filename and e.filename not in str(e.strerror) else str(e.strerror)
    return f"{type(e).__name__}: {e}"


def _try_send(fd: int, msg: dict[str, Any]) -> None:
    try:
        _send(fd, msg)
    except OSError:
        pass
