"""Docker's profile format -> OCI linux.seccomp: arch, caps and minKernel conditions."""
from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.runtime import seccomp, security, spec


def names(oci: dict) -> set[str]:
    return {n for s in oci["syscalls"] if s["action"] == "SCMP_ACT_ALLOW" for n in s["names"]}


def test_default_profile_for_default_caps_on_amd64():
    oci = seccomp.to_oci(seccomp.default_profile(), spec.DEFAULT_CAPS, "amd64", (6, 1))
    assert oci["defaultAction"] == "SCMP_ACT_ERRNO" and oci["defaultErrnoRet"] == 1
    assert oci["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    allowed = names(oci)
    assert "read" in allowed and "arch_prctl" in allowed
    assert "mount" not in allowed and "init_module" not in allowed and "reboot" not in allowed


def test_caps_include_and_exclude_rules():
    oci = seccomp.to_oci(seccomp.default_profile(), spec.DEFAULT_CAPS + ["CAP_SYS_ADMIN"], "amd64", (6, 1))
    assert "mount" in names(oci)
    # clone's argument filter is excluded for CAP_SYS_ADMIN, and clone is allowed outright
    assert not any("clone" in s["names"] and s.get("args") for s in oci["syscalls"])


def test_min_kernel_and_arch_conditions():
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["new_call"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.9"}},
        {"names": ["arm_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
        {"names": ["not_amd"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["amd64"]}}]}
    assert names(seccomp.to_oci(profile, [], "amd64", (5, 4))) == set()
    assert names(seccomp.to_oci(profile, [], "amd64", (6, 0))) == {"new_call"}
    assert names(seccomp.to_oci(profile, [], "arm64", (6, 0))) == {"new_call", "arm_only", "not_amd"}


@pytest.mark.parametrize("opt, message", [
    ("seccomp={", "Decoding seccomp profile failed"),
    ('seccomp={"defaultAction": "NOPE"}', "invalid defaultAction"),
    ('seccomp={"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW", '
     '"args": [{"index": 0, "value": 1, "op": "BAD"}]}]}', "invalid argument rule"),
    ("bogus", "Invalid --security-opt"),
    ("no-new-privileges=maybe", "invalid --security-opt"),
])
def test_bad_security_opts(opt, message):
    with pytest.raises(InvalidParameter, match=message):
        security.parse_security_opts({"SecurityOpt": [opt]})


def test_security_opts_and_spec():
    hc = {"SecurityOpt": ["seccomp=unconfined", "no-new-privileges:true"]}
    assert security.parse_security_opts(hc) == security.SecurityOptions(None, True)
    assert security.parse_security_opts({"Privileged": True}).seccomp is None


@pytest.mark.parametrize("sysctl, mode, ok", [
    ("net.ipv4.ip_forward", {}, True), ("kernel.shmmax", {}, True), ("fs.mqueue.msg_max", {}, True),
    ("vm.swappiness", {}, False), ("kernel.panic", {}, False),
    ("net.ipv4.ip_forward", {"NetworkMode": "host"}, False), ("kernel.msgmax", {"IpcMode": "host"}, False),
])
def test_sysctls(sysctl, mode, ok):
    hc = {"Sysctls": {sysctl: "1"}, **mode}
    if ok:
        security.check_sysctls(hc)
    else:
        with pytest.raises(InvalidParameter):
            security.check_sysctls(hc)


def test_device_errors():
    with pytest.raises(InvalidParameter, match='adding custom device "/dev/nope"'):
        security.user_devices({"Devices": [{"PathOnHost": "/dev/nope"}]})
    devices, rules = security.user_devices({"Devices": [{"PathOnHost": "/dev/null",
                                                         "PathInContainer": "/dev/n",
                                                         "CgroupPermissions": "rw"}]})
    assert devices[0]["path"] == "/dev/n" and (devices[0]["major"], devices[0]["minor"]) == (1, 3)
    assert rules == [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
