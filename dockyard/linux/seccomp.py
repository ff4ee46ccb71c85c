"""Load an OCI `linux.seccomp` filter into the calling process with libseccomp (`pyseccomp`)."""
from __future__ import annotations

import errno
from collections import Counter
from typing import Any


def _lib() -> Any:
    import pyseccomp  # ctypes on Debian's libseccomp2; imported only where a filter is loaded

    return pyseccomp


def _action(lib: Any, name: str, errno_ret: int | None) -> int:
    if name == "SCMP_ACT_ERRNO":
        return lib.ERRNO(errno.EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRACE":
        return lib.TRACE(errno.EPERM if errno_ret is None else errno_ret)
    table = {"SCMP_ACT_KILL": lib.KILL, "SCMP_ACT_KILL_THREAD": lib.KILL_THREAD,
             "SCMP_ACT_KILL_PROCESS": lib.KILL_PROCESS, "SCMP_ACT_TRAP": lib.TRAP,
             "SCMP_ACT_ALLOW": lib.ALLOW, "SCMP_ACT_LOG": lib.LOG}
    if name not in table:
        raise OSError(errno.EINVAL, f"seccomp: unsupported action {name}")
    return table[name]


def _arch(lib: Any, name: str) -> int:
    attr = name.removeprefix("SCMP_ARCH_")
    attr = {"MIPSEL64": "MIPSEL64", "PPC64LE": "PPC64LE"}.get(attr, attr)
    value = getattr(lib.Arch, attr, None)
    if value is None:
        raise OSError(errno.EINVAL, f"seccomp: unknown architecture {name}")
    return value


def build(config: dict[str, Any]) -> Any:
    """A libseccomp filter for `config` (not loaded yet). Unknown syscall names are skipped, as
    runc does: a profile names syscalls of newer kernels than the one running."""
    lib = _lib()
    f = lib.SyscallFilter(_action(lib, config["defaultAction"], config.get("defaultErrnoRet")))
    # libseccomp sets no_new_privs on load by default; OCI leaves that to process.noNewPrivileges
    f.set_attr(lib.Attr.CTL_NNP, 0)
    native = lib.system_arch()
    for name in config.get("architectures") or []:
        arch = _arch(lib, name)
        if arch != native and not f.exist_arch(arch):
            try:
                f.add_arch(arch)
            except OSError:
                pass  # an architecture libseccomp cannot add here
    ops = {"SCMP_CMP_NE": lib.NE, "SCMP_CMP_LT": lib.LT, "SCMP_CMP_LE": lib.LE,
           "SCMP_CMP_EQ": lib.EQ, "SCMP_CMP_GE": lib.GE, "SCMP_CMP_GT": lib.GT,
           "SCMP_CMP_MASKED_EQ": lib.MASKED_EQ}
    default = config["defaultAction"]
    for rule in config.get("syscalls") or []:
        if rule["action"] == default and rule.get("errnoRet") == config.get("defaultErrnoRet"):
            continue  # libseccomp refuses a rule that repeats the default action
        action = _action(lib, rule["action"], rule.get("errnoRet"))
        args = [lib.Arg(int(a["index"]), ops[a["op"]], int(a.get("value", 0)),
                        int(a.get("valueTwo", 0))) for a in rule.get("args") or []]
        # Several conditions on one argument can only be ORed: one rule each (runc does the same).
        repeated = any(n > 1 for n in Counter(a["index"] for a in rule.get("args") or []).values())
        groups = [[a] for a in args] if repeated else [args]
        for name in rule.get("names") or []:
            try:
                nr = lib.resolve_syscall(lib.Arch.NATIVE, name)
            except Exception:  # noqa: BLE001 - pyseccomp raises for names libseccomp lacks
                continue
            if nr < 0:
                continue
            for group in groups:
                try:
                    f.add_rule(action, name, *group)
                except OSError as e:
                    if e.errno in (errno.EDOM, errno.EFAULT):
                        continue  # no such syscall on one of the architectures
                    raise
    return f


def load(config: dict[str, Any]) -> None:
    """Build and load the filter: from here on, this process and its children are filtered."""
    build(config).load()


def mode(status_path: str = "/proc/self/status") -> int:
    with open(status_path) as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return int(line.split()[1])
    return 0


# Compiling Docker's default profile with libseccomp costs ~10 ms of Python per container.
# The process that forks containers compiles each distinct profile once; children load the
# ready BPF program with one prctl.
_compiled: dict[str, bytes] = {}
_CACHE_MAX = 32

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


def compile_bpf(config: dict[str, Any]) -> bytes:
    """The classic-BPF program (an array of struct sock_filter) libseccomp makes for `config`."""
    import json
    import tempfile

    key = json.dumps(config, sort_keys=True)
    bpf = _compiled.get(key)
    if bpf is None:
        with tempfile.TemporaryFile() as f:
            build(config).export_bpf(f)
            f.seek(0)
            bpf = f.read()
        if len(_compiled) >= _CACHE_MAX:
            _compiled.clear()
        _compiled[key] = bpf
    return bpf


class CompiledFilter:
    """A program from compile_bpf, loaded into the calling process by `load()`."""

    def __init__(self, bpf: bytes) -> None:
        if not bpf or len(bpf) % 8:
            raise OSError(errno.EINVAL, "seccomp: malformed BPF program")
        self.bpf = bpf

    def load(self) -> None:
        import ctypes

        from .libc import check, libc

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        buf = ctypes.create_string_buffer(self.bpf, len(self.bpf))
        prog = SockFprog(len(self.bpf) // 8, ctypes.addressof(buf))
        lib = libc()
        # an address, not byref: other modules declare prctl's arguments as unsigned longs
        check(lib.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0), "seccomp")
