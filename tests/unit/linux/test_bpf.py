"""The cgroup device eBPF program: its encoding, and its verdicts run through a small interpreter."""
from __future__ import annotations

import struct

import pytest

from dockyard.cgroups import Resources, V1Cgroup, V2Cgroup
from dockyard.cgroups.base import CgroupError
from dockyard.linux import bpf
from dockyard.runtime.security import DEFAULT_DEVICE_RULES

B, C = bpf.BPF_DEVCG_DEV_BLOCK, bpf.BPF_DEVCG_DEV_CHAR
M, R, W = bpf.BPF_DEVCG_ACC_MKNOD, bpf.BPF_DEVCG_ACC_READ, bpf.BPF_DEVCG_ACC_WRITE
U64 = (1 << 64) - 1


def run(code: bytes, typ: int, access: int, major: int, minor: int) -> int:
    """Interpret the encoded program over one bpf_cgroup_dev_ctx, with only the opcodes bpf.py emits."""
    ctx = struct.pack("<III", (access << 16) | typ, major, minor)
    insns = [struct.unpack_from("<BBhi", code, n) for n in range(0, len(code), 8)]
    regs = [0] * 11
    regs[1] = 0  # ctx "pointer": offsets into ctx
    pc, steps = 0, 0
    while True:
        steps += 1
        assert steps < 10_000 and 0 <= pc < len(insns), f"ran off the program at {pc}"
        op, regs_byte, off, imm = insns[pc]
        dst, src = regs_byte & 0xF, regs_byte >> 4
        k = imm & U64  # s32 immediates sign-extend to 64 bits
        pc += 1
        if op == 0x61:
            assert src == 1 and off in (0, 4, 8), "loads only from the ctx"
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif op == 0x57:
            regs[dst] &= k
        elif op == 0x77:
            regs[dst] = (regs[dst] >> imm) & U64
        elif op == 0xB7:
            regs[dst] = k
        elif op == 0xBF:
            regs[dst] = regs[src]
        elif op == 0x05:
            pc += off
        elif op == 0x15:
            pc += off if regs[dst] == k else 0
        elif op == 0x55:
            pc += off if regs[dst] != k else 0
        elif op == 0x45:
            pc += off if regs[dst] & k else 0
        elif op == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")


def verdict(rules, typ, access, major, minor) -> bool:
    return run(bpf.encode(bpf.build_program(rules)), typ, access, major, minor) == 1


def test_insn_encoding_matches_struct_bpf_insn():
    # dst in the low nibble, src in the high one, off s16, imm s32, little endian
    assert bpf.Insn(0x61, dst=2, src=1, off=4).encode() == bytes([0x61, 0x12, 4, 0, 0, 0, 0, 0])
    assert bpf.Insn(0x55, dst=4, off=-1, imm=-2).encode() == bytes([0x55, 0x04, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF])
    assert bpf.Insn(0x95).encode() == bytes([0x95, 0, 0, 0, 0, 0, 0, 0])


def test_program_for_no_rules_denies_everything():
    prog = bpf.build_program([])
    assert len(prog) == 6 + 2  # prologue + default deny
    assert prog[-2:] == [bpf.Insn(bpf.ALU64_MOV_K, dst=0, imm=0), bpf.Insn(bpf.JMP_EXIT)]
    assert not verdict([], C, R, 1, 3)


def test_prologue_splits_access_type():
    prog = bpf.build_program([{"allow": True, "access": "rwm"}])
    assert prog[:6] == [
        bpf.Insn(0x61, dst=2, src=1, off=0), bpf.Insn(0x57, dst=2, imm=0xFFFF),
        bpf.Insn(0x61, dst=3, src=1, off=0), bpf.Insn(0x77, dst=3, imm=16),
        bpf.Insn(0x61, dst=4, src=1, off=4), bpf.Insn(0x61, dst=5, src=1, off=8),
    ]
    # allow-all: one unconditional verdict, no default after it
    assert prog[6:] == [bpf.Insn(0xB7, dst=0, imm=1), bpf.Insn(0x95)]
    assert len(bpf.encode(prog)) == 8 * 8


def test_one_device_rule_layout_and_jumps():
    prog = bpf.build_program([{"allow": False, "access": "rwm"},
                              {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}])
    # the deny-all is the only earlier rule: its block is the unconditional default
    assert prog[6:] == [
        bpf.Insn(0x55, dst=2, imm=C, off=4),   # type != c -> next rule
        bpf.Insn(0x55, dst=4, imm=1, off=3),   # major != 1
        bpf.Insn(0x55, dst=5, imm=3, off=2),   # minor != 3
        bpf.Insn(0xB7, dst=0, imm=1),
        bpf.Insn(0x95),
        bpf.Insn(0xB7, dst=0, imm=0),
        bpf.Insn(0x95),
    ]


def test_partial_access_allow_uses_jset_and_deny_uses_and():
    allow = bpf.build_program([{"allow": True, "type": "b", "major": 8, "access": "r"}])
    assert bpf.Insn(0x45, dst=3, imm=M | W, off=2) in allow
    deny = bpf.build_program([{"allow": False, "type": "b", "major": 8, "access": "w"}])
    assert [bpf.Insn(0xBF, dst=6, src=3), bpf.Insn(0x57, dst=6, imm=W), bpf.Insn(0x15, dst=6, imm=0, off=2)] \
        == deny[8:11]


def test_rules_before_a_match_all_rule_are_dropped():
    rules = [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}, {"allow": False, "access": "rwm"}]
    assert bpf.build_program(rules) == bpf.build_program([{"allow": False}])


def test_runc_default_list():
    rules = DEFAULT_DEVICE_RULES
    for major, minor in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (136, 0), (136, 7)):
        for acc in (R, W, R | W, M, M | R | W):
            assert verdict(rules, C, acc, major, minor), (major, minor, acc)
    # mknod of any node is fine; using a disk or /dev/mem is not
    assert verdict(rules, B, M, 8, 0)
    assert verdict(rules, C, M, 1, 1)
    for acc in (R, W, R | W, R | M):
        assert not verdict(rules, B, acc, 8, 0)
        assert not verdict(rules, C, acc, 1, 1)  # /dev/mem
        assert not verdict(rules, C, acc, 4, 0)  # tty0
    assert not verdict(rules, C, R, 137, 0)


def test_last_match_wins():
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "access": "rwm"},
             {"allow": False, "type": "c", "major": 1, "minor": 5, "access": "rwm"}]
    assert verdict(rules, C, R, 1, 3)
    assert not verdict(rules, C, R, 1, 5)
    # the reverse order: the broad allow comes last and wins over the narrow deny
    rules = [rules[0], rules[2], rules[1]]
    assert verdict(rules, C, R, 1, 5)
    # allow everything, then take one device away, then give it back read-only
    rules = [{"allow": True, "access": "rwm"},
             {"allow": False, "type": "b", "major": 8, "minor": 0, "access": "rwm"},
             {"allow": True, "type": "b", "major": 8, "minor": 0, "access": "r"}]
    assert verdict(rules, B, R, 8, 0)
    assert not verdict(rules, B, W, 8, 0)
    assert not verdict(rules, B, R | W, 8, 0)
    assert verdict(rules, B, R | W, 8, 1)
    assert verdict(rules, C, R | W, 1, 3)


def test_access_subsets():
    # an allow rule must cover every bit asked for; a deny rule hits on any bit it names
    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rw"}]
    assert verdict(rules, C, R | W, 10, 200)
    assert not verdict(rules, C, M, 10, 200)
    rules = [{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 10, "minor": 200, "access": "w"}]
    assert verdict(rules, C, R, 10, 200)
    assert not verdict(rules, C, R | W, 10, 200)


def test_type_a_with_numbers_and_wildcards():
    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "a", "major": 7, "access": "rwm"},
             {"allow": True, "type": "b", "major": -1, "minor": 4, "access": "m"}]
    assert verdict(rules, B, R, 7, 9) and verdict(rules, C, W, 7, 0)
    assert verdict(rules, B, M, 259, 4) and not verdict(rules, B, R, 259, 4)
    assert not verdict(rules, C, M, 259, 4)


def test_privileged_allows_all():
    assert verdict([{"allow": True, "access": "rwm"}], B, R | W | M, 8, 0)


@pytest.mark.parametrize("rule", [{"allow": True, "type": "p"}, {"allow": True, "type": "c", "access": "rx"},
                                  {"allow": True, "type": "c", "major": 1 << 31},
                                  {"allow": True, "type": "c", "minor": -2}])
def test_bad_rules_are_refused(rule):
    with pytest.raises(ValueError):
        bpf.build_program([rule])


def test_v2_apply_attaches_the_filter(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("")
    calls = []
    cg = V2Cgroup(str(tmp_path), "/dy/c1", device_filter=lambda d, rules: calls.append((d, list(rules))))
    cg.create(Resources(devices=DEFAULT_DEVICE_RULES, pids=5))
    assert calls == [(str(tmp_path / "dy" / "c1"), DEFAULT_DEVICE_RULES)]
    cg.apply(Resources(pids=6))  # an update without device rules leaves the filter alone
    assert len(calls) == 1


def test_v2_filter_failure_is_a_cgroup_error(tmp_path):
    def refuse(d, rules):
        raise OSError(1, "Operation not permitted")
    cg = V2Cgroup(str(tmp_path), "/c", device_filter=refuse)
    with pytest.raises(CgroupError) as e:
        cg.create(Resources(devices=DEFAULT_DEVICE_RULES))
    assert e.value.errno == 1


def test_v1_hybrid_mirrors_into_unified(tmp_path):
    (tmp_path / "devices").mkdir()
    (tmp_path / "unified").mkdir()
    calls = []
    cg = V1Cgroup(str(tmp_path), "/p/c", unified=str(tmp_path / "unified"),
                  device_filter=lambda d, rules: calls.append(d))
    cg.create(Resources(devices=DEFAULT_DEVICE_RULES))
    assert calls == [str(tmp_path / "unified" / "p" / "c")]
    cg.add(1234)
    assert (tmp_path / "unified/p/c/cgroup.procs").read_text() == "1234"
    for f in ("devices/p/c/cgroup.procs", "devices/p/c/devices.allow", "devices/p/c/devices.deny",
              "unified/p/c/cgroup.procs"):
        (tmp_path / f).unlink()
    cg.delete(0.1)
    assert not (tmp_path / "unified/p/c").exists() and not (tmp_path / "devices/p/c").exists()


def test_v1_hybrid_filter_failure_is_only_logged_while_devices_controller_enforces(tmp_path, caplog):
    (tmp_path / "devices").mkdir()
    (tmp_path / "unified").mkdir()

    def refuse(d, rules):
        raise OSError(22, "Invalid argument")
    V1Cgroup(str(tmp_path), "/c", unified=str(tmp_path / "unified"), device_filter=refuse) \
        .create(Resources(devices=DEFAULT_DEVICE_RULES))
    assert "device filter not attached" in caplog.text
    # without a v1 devices hierarchy the filter is the only enforcement: its failure is fatal
    (tmp_path / "unified2").mkdir()
    with pytest.raises(CgroupError):
        V1Cgroup(str(tmp_path), "/d", controllers=("memory",), unified=str(tmp_path / "unified2"),
                 device_filter=refuse).create(Resources(devices=DEFAULT_DEVICE_RULES))
