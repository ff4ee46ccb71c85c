"""An extra process in a running container (runc's `exec`): join its cgroup and namespaces, then execve."""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..cgroups import Cgroup
from ..linux import process as proc
from ..linux import seccomp as seccomplib
from ..linux.kernel import Kernel
from ..linux.namespaces import OCI_TYPES
from . import init as initlib

# Joined in this order: the mount namespace last, since /proc/<pid>/ns paths are host paths.
JOIN_ORDER = ("cgroup", "ipc", "uts", "network", "mount")


@dataclass
class ExecArgs:
    process: dict[str, Any]                       # OCI `process` (args, env, cwd, user, capabilities, terminal...)
    sync_fd: int
    cgroup: Cgroup | None
    stdio: tuple[int | None, int, int]
    console_socket: int | None = None
    join: dict[str, int] = field(default_factory=dict)   # OCI type -> open fd of the init's namespace
    seccomp_bpf: bytes | None = None                      # the container's `linux.seccomp`, compiled


def run(a: ExecArgs, k: Kernel | None = None) -> NoReturn:
    """Set up and execve, or report why not on the sync pipe. The pid namespace was joined by our parent."""
    k = k or Kernel()
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for s in initlib._RESET_SIGNALS:
            signal.signal(s, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        filt = seccomplib.CompiledFilter(a.seccomp_bpf) if a.seccomp_bpf else None
        if a.cgroup is not None:
            a.cgroup.add(0)
        for typ in JOIN_ORDER:
            fd = a.join.get(typ)
            if fd is not None:
                k.setns_fd(fd, OCI_TYPES[typ])
        os.setsid()
        p = a.process
        if a.console_socket is not None:
            # After joining the mount namespace, /dev/ptmx is the container's own devpts.
            initlib.console(a.console_socket, int((p.get("user") or {}).get("uid", 0)))
        else:
            stdin = a.stdio[0] if a.stdio[0] is not None else os.open("/dev/null", os.O_RDONLY)
            initlib._dup_stdio((stdin, a.stdio[1], a.stdio[2]))
        for rl in p.get("rlimits") or []:
            proc.set_rlimit(rl["type"], int(rl["soft"]), int(rl["hard"]))
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in p.get("env") or [])
        cwd = p.get("cwd") or "/"
        if filt is not None and not p.get("noNewPrivileges"):
            filt.load()  # without no_new_privs, loading needs CAP_SYS_ADMIN: before caps drop
        initlib._user_and_caps(p, k.bounding_set())
        if p.get("noNewPrivileges"):
            proc.set_no_new_privs()
            if filt is not None:
                filt.load()
        try:
            os.chdir(cwd)
        except OSError as e:
            raise initlib.ExecError(f"chdir to cwd (\"{cwd}\") set in config.json failed: "
                                    f"{(e.strerror or '').lower()}", 126) from None
        args = p.get("args") or []
        if not args:
            raise initlib.ExecError("args must not be empty", 127)
        path = initlib.lookup(args[0], env.get("PATH", initlib.DEFAULT_PATH))
        os.umask(0o022)
        # Success is silence: the sync pipe is close-on-exec, so the parent reads EOF at execve.
        os.closerange(3, a.sync_fd)
        os.closerange(a.sync_fd + 1, 1 << 16)
        try:
            os.execve(path, args, env)
        except OSError as e:
            code = 126
            initlib._try_send(a.sync_fd, {"type": "error", "message": f"exec {args[0]}: {e.strerror}",
                                          "code": 126})
    except initlib.ExecError as e:
        code = e.code
        initlib._try_send(a.sync_fd, {"type": "error", "message": str(e), "code": e.code})
    except BaseException as e:  # noqa: BLE001 - anything must become a report, never a traceback in the supervisor
        initlib._try_send(a.sync_fd, {"type": "error", "message": initlib._describe(e), "code": 1})
    os._exit(code)
