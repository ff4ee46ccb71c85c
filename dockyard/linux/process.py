"""Per-process kernel calls: prctl, hostname, pivot_root, mknod, rlimits, setsid/tty, loopback up."""
from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import resource
import socket
import struct
import termios

from .libc import check, libc

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_KEEPCAPS = 8
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "armv7l": 218, "ppc64le": 203, "s390x": 217}

_libc = libc()
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.syscall.restype = ctypes.c_long

RLIMITS: dict[str, int] = {
    "RLIMIT_" + n: getattr(resource, "RLIMIT_" + n)
    for n in ("AS", "CORE", "CPU", "DATA", "FSIZE", "LOCKS", "MEMLOCK", "MSGQUEUE", "NICE",
              "NOFILE", "NPROC", "RSS", "RTPRIO", "RTTIME", "SIGPENDING", "STACK")
    if hasattr(resource, "RLIMIT_" + n)
}


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


def set_child_subreaper() -> None:
    """Orphaned descendants (container inits after their runtime exits) are reparented to us."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)


def set_no_new_privs() -> None:
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def set_keepcaps(on: bool) -> None:
    prctl(PR_SET_KEEPCAPS, 1 if on else 0)


def set_dumpable(on: bool) -> None:
    prctl(PR_SET_DUMPABLE, 1 if on else 0)


def set_parent_death_signal(sig: int) -> None:
    prctl(PR_SET_PDEATHSIG, sig)


def sethostname(name: str) -> None:
    raw = name.encode()
    check(_libc.sethostname(raw, len(raw)), "sethostname")


def pivot_root(new_root: str, put_old: str) -> None:
    nr = _SYS_PIVOT_ROOT.get(platform.machine())
    if nr is None:
        raise OSError(38, f"pivot_root: unknown syscall number on {platform.machine()}")
    check(int(_libc.syscall(ctypes.c_long(nr), new_root.encode(), put_old.encode())), "pivot_root", new_root)


def mknod(path: str, mode: int, major: int, minor: int) -> None:
    os.mknod(path, mode, os.makedev(major, minor))


def set_rlimit(name: str, soft: int, hard: int) -> tuple[int, int]:
    """Set an rlimit clamped to the hard limit we hold: without CAP_SYS_RESOURCE it cannot be raised."""
    which = RLIMITS[name]
    _, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        hard = cur_hard if hard < 0 or hard > cur_hard else hard
        soft = hard if soft < 0 or soft > hard else soft
    resource.setrlimit(which, (soft, hard))
    return soft, hard


def set_oom_score_adj(value: int) -> None:
    """Lowering the score needs CAP_SYS_RESOURCE; keep the inherited value when the kernel refuses."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except PermissionError:
        pass


def make_controlling_tty(fd: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


TIOCSPTLCK = 0x40045431
TIOCGPTPEER = 0x5441


def open_pty(ptmx: str = "/dev/ptmx") -> tuple[int, int]:
    """A pty pair from `ptmx` (inside a container: its own devpts instance); returns (master, slave).

    TIOCGPTPEER opens the slave through the master, so no /dev/pts path is looked up.
    """
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    except BaseException:
        os.close(master)
        raise
    return master, int(slave)


def set_winsize(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def link_up(name: str = "lo") -> None:
    """Bring an interface up with the classic ioctl; enough for the loopback of a new net namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", name.encode(), 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", name.encode(), flags | IFF_UP))
