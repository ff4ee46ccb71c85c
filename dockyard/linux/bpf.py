"""cgroup v2 device filtering: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE built from OCI
`linux.resources.devices` rules, loaded with bpf(2) and attached to a cgroup directory.

The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` where
access_type is (access << 16) | type, and returns 1 to allow, 0 to deny (EPERM for the caller).

Rules are OCI's: {allow, type a|b|c, major, minor (None or -1: any), access "rwm"}; the last rule
that matches a request decides, so the program tests them last to first and returns the verdict
of the first hit. A request no rule matches is denied (as runc does on cgroup v2).
An allow rule matches only when it covers every access bit requested (like v1's exceptions);
a deny rule matches when it covers any of them.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct
from dataclasses import dataclass
from typing import Any, Iterable

from .libc import libc

# bpf(2) commands, program and attach types, flags (uapi/linux/bpf.h)
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2

BPF_DEVCG_DEV_BLOCK = 1
BPF_DEVCG_DEV_CHAR = 2
BPF_DEVCG_ACC_MKNOD = 1
BPF_DEVCG_ACC_READ = 2
BPF_DEVCG_ACC_WRITE = 4
ACC_ALL = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE

_TYPES = {"b": BPF_DEVCG_DEV_BLOCK, "c": BPF_DEVCG_DEV_CHAR}
_ACCESS = {"m": BPF_DEVCG_ACC_MKNOD, "r": BPF_DEVCG_ACC_READ, "w": BPF_DEVCG_ACC_WRITE}

# The opcodes this module emits (class | op | source).
LDX_MEM_W = 0x61    # dst = *(u32 *)(src + off)
ALU64_AND_K = 0x57  # dst &= imm
ALU64_RSH_K = 0x77  # dst >>= imm
ALU64_MOV_K = 0xB7  # dst = imm
ALU64_MOV_X = 0xBF  # dst = src
JMP_JA = 0x05       # pc += off
JMP_JEQ_K = 0x15    # if dst == imm: pc += off
JMP_JNE_K = 0x55    # if dst != imm: pc += off
JMP_JSET_K = 0x45   # if dst & imm: pc += off
JMP_EXIT = 0x95     # return r0

# registers the program keeps the request in
R_TYPE, R_ACCESS, R_MAJOR, R_MINOR, R_TMP = 2, 3, 4, 5, 6

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "arm64": 280}


@dataclass(frozen=True)
class Insn:
    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def encode(self) -> bytes:
        """struct bpf_insn: u8 code; u8 dst_reg:4, src_reg:4 (dst in the low nibble); s16 off; s32 imm."""
        return struct.pack("<BBhi", self.code, (self.src << 4) | self.dst, self.off, self.imm)


@dataclass(frozen=True)
class DeviceRule:
    """One OCI rule, normalised: type None means any, major/minor None mean any, access a bit mask."""
    allow: bool
    type: int | None
    major: int | None
    minor: int | None
    access: int

    @classmethod
    def from_oci(cls, rule: dict[str, Any]) -> "DeviceRule":
        typ = rule.get("type") or "a"
        if typ != "a" and typ not in _TYPES:
            raise ValueError(f"device rule {rule!r}: type must be a, b or c")
        access = 0
        for ch in rule.get("access") or "rwm":
            if ch not in _ACCESS:
                raise ValueError(f"device rule {rule!r}: access may only hold r, w and m")
            access |= _ACCESS[ch]
        return cls(allow=bool(rule.get("allow")), type=_TYPES.get(typ),
                   major=_number(rule, "major"), minor=_number(rule, "minor"), access=access)

    def matches_everything(self) -> bool:
        return self.type is None and self.major is None and self.minor is None and self.access == ACC_ALL


def _number(rule: dict[str, Any], key: str) -> int | None:
    value = rule.get(key)
    if value is None or value == -1:
        return None
    if not isinstance(value, int) or not 0 <= value <= 0x7FFFFFFF:
        # immediates are s32 sign-extended against the zero-extended u32 field: keep them positive
        raise ValueError(f"device rule {rule!r}: {key} must be -1 or 0..{0x7FFFFFFF}")
    return value


def _rule_block(rule: DeviceRule) -> list[Insn]:
    """The test of one rule: jumps marked off=None skip to the next rule; a hit returns the verdict."""
    checks: list[tuple[int, int, int]] = []  # (code, dst, imm) each jumping to the next rule
    block: list[Insn] = []
    if rule.type is not None:
        checks.append((JMP_JNE_K, R_TYPE, rule.type))
    if rule.major is not None:
        checks.append((JMP_JNE_K, R_MAJOR, rule.major))
    if rule.minor is not None:
        checks.append((JMP_JNE_K, R_MINOR, rule.minor))
    for code, dst, imm in checks:
        block.append(Insn(code, dst=dst, imm=imm, off=-1))  # off -1: placeholder, patched below
    if rule.access != ACC_ALL:
        if rule.allow:
            # a bit asked for that the rule lacks: not this rule
            block.append(Insn(JMP_JSET_K, dst=R_ACCESS, imm=ACC_ALL & ~rule.access, off=-1))
        else:
            # none of the rule's bits asked for: not this rule
            block.append(Insn(ALU64_MOV_X, dst=R_TMP, src=R_ACCESS))
            block.append(Insn(ALU64_AND_K, dst=R_TMP, imm=rule.access))
            block.append(Insn(JMP_JEQ_K, dst=R_TMP, imm=0, off=-1))
    block.append(Insn(ALU64_MOV_K, dst=0, imm=1 if rule.allow else 0))
    block.append(Insn(JMP_EXIT))
    # every placeholder jumps to the instruction after the block
    return [Insn(i.code, i.dst, i.src, len(block) - n - 1, i.imm)
            if i.code in (JMP_JNE_K, JMP_JSET_K, JMP_JEQ_K) else i
            for n, i in enumerate(block)]


def build_program(rules: Iterable[dict[str, Any]]) -> list[Insn]:
    """The device filter for OCI `rules`, in the order OCI lists them (the last match wins)."""
    parsed = [DeviceRule.from_oci(r) for r in rules]
    # Everything before a rule that matches every request can never decide: drop it.
    for n in range(len(parsed) - 1, -1, -1):
        if parsed[n].matches_everything():
            parsed = parsed[n:]
            break
    prog = [
        Insn(LDX_MEM_W, dst=R_TYPE, src=1, off=0),
        Insn(ALU64_AND_K, dst=R_TYPE, imm=0xFFFF),
        Insn(LDX_MEM_W, dst=R_ACCESS, src=1, off=0),
        Insn(ALU64_RSH_K, dst=R_ACCESS, imm=16),
        Insn(LDX_MEM_W, dst=R_MAJOR, src=1, off=4),
        Insn(LDX_MEM_W, dst=R_MINOR, src=1, off=8),
    ]
    for rule in reversed(parsed):
        prog += _rule_block(rule)
        if rule.matches_everything():
            return prog  # nothing after it is reachable
    prog += [Insn(ALU64_MOV_K, dst=0, imm=0), Insn(JMP_EXIT)]
    return prog


def encode(prog: list[Insn]) -> bytes:
    return b"".join(i.encode() for i in prog)


# --- bpf(2) -------------------------------------------------------------------------------

class _ProgLoadAttr(ctypes.Structure):
    _fields_ = [("prog_type", ctypes.c_uint32), ("insn_cnt", ctypes.c_uint32),
                ("insns", ctypes.c_uint64), ("license", ctypes.c_uint64),
                ("log_level", ctypes.c_uint32), ("log_size", ctypes.c_uint32),
                ("log_buf", ctypes.c_uint64), ("kern_version", ctypes.c_uint32),
                ("prog_flags", ctypes.c_uint32), ("prog_name", ctypes.c_char * 16),
                ("prog_ifindex", ctypes.c_uint32), ("expected_attach_type", ctypes.c_uint32)]


class _AttachAttr(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_bpf_fd", ctypes.c_uint32),
                ("attach_type", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("replace_bpf_fd", ctypes.c_uint32)]


class _QueryAttr(ctypes.Structure):
    _fields_ = [("target_fd", ctypes.c_uint32), ("attach_type", ctypes.c_uint32),
                ("query_flags", ctypes.c_uint32), ("attach_flags", ctypes.c_uint32),
                ("prog_ids", ctypes.c_uint64), ("prog_cnt", ctypes.c_uint32)]


class _GetFdAttr(ctypes.Structure):
    _fields_ = [("prog_id", ctypes.c_uint32), ("next_id", ctypes.c_uint32),
                ("open_flags", ctypes.c_uint32)]


def _sys_bpf() -> int:
    machine = platform.machine()
    if machine not in _SYS_BPF:
        raise OSError(38, f"bpf: syscall number unknown on {machine}")  # ENOSYS
    return _SYS_BPF[machine]


def _bpf(cmd: int, attr: ctypes.Structure, what: str) -> int:
    sysno = _sys_bpf()
    fn = libc().syscall
    fn.restype = ctypes.c_long
    ctypes.set_errno(0)
    res = fn(ctypes.c_long(sysno), ctypes.c_long(cmd), ctypes.byref(attr), ctypes.c_uint(ctypes.sizeof(attr)))
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return int(res)


def load(prog: list[Insn]) -> int:
    """Load the device filter; returns its fd. A verifier refusal raises OSError with the kernel's log."""
    code = encode(prog)
    insns = ctypes.create_string_buffer(code, len(code))
    license = ctypes.create_string_buffer(b"GPL")
    attr = _ProgLoadAttr(prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt=len(prog),
                         insns=ctypes.addressof(insns), license=ctypes.addressof(license),
                         prog_name=b"dockyard_dev", expected_attach_type=BPF_CGROUP_DEVICE)
    try:
        return _bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD) device filter")
    except OSError as first:
        if first.errno not in (13, 22):  # EACCES, EINVAL: the verifier's; ask again for its log
            raise
        log = ctypes.create_string_buffer(64 * 1024)
        attr.log_level, attr.log_size, attr.log_buf = 1, len(log), ctypes.addressof(log)
        try:
            return _bpf(BPF_PROG_LOAD, attr, "bpf(BPF_PROG_LOAD) device filter")
        except OSError as e:
            text = log.value.decode(errors="replace").strip()
            raise OSError(e.errno, f"{e.strerror}; verifier log:\n{text}" if text else e.strerror) from None


def attached_ids(cgroup_fd: int) -> list[int]:
    """The ids of the device programs attached directly to this cgroup (not inherited)."""
    ids = (ctypes.c_uint32 * 64)()
    attr = _QueryAttr(target_fd=cgroup_fd, attach_type=BPF_CGROUP_DEVICE,
                      prog_ids=ctypes.addressof(ids), prog_cnt=len(ids))
    _bpf(BPF_PROG_QUERY, attr, "bpf(BPF_PROG_QUERY) device filters")
    return list(ids[: attr.prog_cnt])


def _detach(cgroup_fd: int, prog_id: int) -> None:
    fd = _bpf(BPF_PROG_GET_FD_BY_ID, _GetFdAttr(prog_id=prog_id), f"bpf(BPF_PROG_GET_FD_BY_ID {prog_id})")
    try:
        _bpf(BPF_PROG_DETACH, _AttachAttr(target_fd=cgroup_fd, attach_bpf_fd=fd, attach_type=BPF_CGROUP_DEVICE),
             "bpf(BPF_PROG_DETACH) device filter")
    finally:
        os.close(fd)


def set_device_filter(cgroup_dir: str, rules: Iterable[dict[str, Any]]) -> None:
    """Make the filter for `rules` the only device program attached to the cgroup at `cgroup_dir`.

    Attached with BPF_F_ALLOW_MULTI (as systemd and runc do: programs of ancestors still run, and
    every one must allow); a filter attached before (an update) is detached once the new one is in,
    so there is no moment without one. The cgroup keeps the program: it goes away with the cgroup."""
    prog = build_program(rules)
    dfd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        old = attached_ids(dfd)
        pfd = load(prog)
        try:
            _bpf(BPF_PROG_ATTACH, _AttachAttr(target_fd=dfd, attach_bpf_fd=pfd, attach_type=BPF_CGROUP_DEVICE,
                                              attach_flags=BPF_F_ALLOW_MULTI),
                 f"bpf(BPF_PROG_ATTACH) device filter to {cgroup_dir}")
        finally:
            os.close(pfd)
        for prog_id in old:
            _detach(dfd, prog_id)
    finally:
        os.close(dfd)
