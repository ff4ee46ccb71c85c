"""Process capabilities: names, the bounding set, capset(2) and the ambient set."""
from __future__ import annotations

import ctypes

from .libc import check, libc
from .process import prctl

NAMES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
    "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO",
    "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE",
    "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
    "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]
BY_NAME = {f"CAP_{n}": i for i, n in enumerate(NAMES)}

PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_libc = libc()


def to_mask(names: list[str] | None) -> int:
    """OCI capability names -> bit mask; names the running kernel does not know are skipped (as runc warns and skips)."""
    mask = 0
    for name in names or []:
        bit = BY_NAME.get(name.upper() if name.upper().startswith("CAP_") else f"CAP_{name.upper()}")
        if bit is not None:
            mask |= 1 << bit
    return mask


def to_names(mask: int) -> list[str]:
    return [f"CAP_{n}" for i, n in enumerate(NAMES) if mask >> i & 1]


def bounding_set(status_path: str = "/proc/self/status") -> int:
    """The calling process's bounding set; on these hosts it lacks CAP_SYS_RESOURCE, so derive every set from it."""
    with open(status_path) as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    raise OSError("CapBnd missing from " + status_path)


def drop_bounding(keep: int, current: int) -> None:
    """Drop every capability in `current` that is not in `keep` (needs CAP_SETPCAP)."""
    for bit in range(len(NAMES)):
        if current >> bit & 1 and not keep >> bit & 1:
            prctl(PR_CAPBSET_DROP, bit)


def capset(effective: int, permitted: int, inheritable: int) -> None:
    hdr = _Header(_VERSION_3, 0)
    data = (_Data * 2)()
    for i in range(2):
        data[i].effective = effective >> (32 * i) & 0xFFFFFFFF
        data[i].permitted = permitted >> (32 * i) & 0xFFFFFFFF
        data[i].inheritable = inheritable >> (32 * i) & 0xFFFFFFFF
    check(_libc.capset(ctypes.byref(hdr), data), "capset")


def set_ambient(mask: int) -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for bit in range(len(NAMES)):
        if mask >> bit & 1:
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, bit)
