"""Seccomp profiles: Docker's profile format (and its default profile) -> OCI `linux.seccomp`.

The profile format has conditions the OCI form lacks (`includes`/`excludes` on architectures,
capabilities and a minimum kernel): they are resolved here, for this host and the container's
capability set, as dockerd does before it hands the spec to a runtime.
"""
from __future__ import annotations

import json
import os
import platform
from importlib import resources
from typing import Any

from ..errors import InvalidParameter

# uname machine -> Go's GOARCH (the names profiles use in `arches`)
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
           "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
           "mips64": "mips64", "mips64el": "mips64le"}
# GOARCH -> the libseccomp architecture that is native to it
_NATIVE = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
           "386": "SCMP_ARCH_X86", "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
           "riscv64": "SCMP_ARCH_RISCV64", "mips64": "SCMP_ARCH_MIPS64",
           "mips64le": "SCMP_ARCH_MIPSEL64"}
ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")
OPERATORS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
             "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")


def host_goarch() -> str:
    return _GOARCH.get(platform.machine(), platform.machine())


def kernel_version(release: str | None = None) -> tuple[int, int]:
    release = release or os.uname().release
    parts = (release.split("-")[0].split(".") + ["0"])[:2]
    return int("".join(ch for ch in parts[0] if ch.isdigit()) or 0), \
        int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)


def default_profile() -> dict[str, Any]:
    """Docker's default profile (profiles/seccomp-default.json, the data dockerd ships)."""
    text = resources.files("dockyard.runtime").joinpath("profiles/seccomp-default.json").read_text()
    return json.loads(text)


def parse_profile(text: str) -> dict[str, Any]:
    """A user's profile (the JSON the docker CLI reads from the file and sends in SecurityOpt)."""
    try:
        profile = json.loads(text)
    except ValueError as e:
        raise InvalidParameter(f"Decoding seccomp profile failed: {e}") from None
    if not isinstance(profile, dict):
        raise InvalidParameter("Decoding seccomp profile failed: the profile is not a JSON object")
    check(profile)
    return profile


def check(profile: dict[str, Any]) -> None:
    """What runc would refuse at start, refused at create instead (a 400 that leaves nothing)."""
    if profile.get("defaultAction") not in ACTIONS:
        raise InvalidParameter(
            f"Decoding seccomp profile failed: invalid defaultAction {profile.get('defaultAction')!r}")
    if "archMap" in profile and "architectures" in profile:
        raise InvalidParameter("Decoding seccomp profile failed: 'architectures' and 'archMap' "
                               "were specified in the seccomp profile, use either "
                               "'architectures' or 'archMap'")
    for s in profile.get("syscalls") or []:
        if not isinstance(s, dict) or s.get("action") not in ACTIONS:
            raise InvalidParameter(f"Decoding seccomp profile failed: invalid syscall rule {s!r}")
        if "name" in s and "names" in s:
            raise InvalidParameter("Decoding seccomp profile failed: use either 'name' or "
                                   "'names', not both")
        for a in s.get("args") or []:
            if not isinstance(a, dict) or a.get("op") not in OPERATORS:
                raise InvalidParameter(f"Decoding seccomp profile failed: invalid argument rule {a!r}")


def _matches(cond: dict[str, Any], arch: str, caps: set[str], kernel: tuple[int, int],
             include: bool) -> bool:
    """Whether a rule's `includes` holds (include=True) or its `excludes` hits (include=False)."""
    arches = cond.get("arches") or []
    wanted_caps = cond.get("caps") or []
    if include:
        if arches and arch not in arches:
            return False
        if wanted_caps and not all(c in caps for c in wanted_caps):
            return False
        if cond.get("minKernel") and kernel < kernel_version(str(cond["minKernel"])):
            return False
        return True
    if arches and arch in arches:
        return True
    return bool(wanted_caps) and any(c in caps for c in wanted_caps)


def to_oci(profile: dict[str, Any], caps: list[str], arch: str | None = None,
           kernel: tuple[int, int] | None = None) -> dict[str, Any]:
    """The OCI form of `profile` for a container holding `caps` on this host."""
    arch = arch or host_goarch()
    kernel = kernel or kernel_version()
    capset = set(caps)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
    if profile.get("architectures"):
        out["architectures"] = list(profile["architectures"])
    elif profile.get("archMap"):
        native = _NATIVE.get(arch)
        for entry in profile["archMap"]:
            if entry.get("architecture") == native:
                out["architectures"] = [native, *(entry.get("subArchitectures") or [])]
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    syscalls = []
    for s in profile.get("syscalls") or []:
        if not _matches(s.get("includes") or {}, arch, capset, kernel, True):
            continue
        if _matches(s.get("excludes") or {}, arch, capset, kernel, False):
            continue
        names = list(s.get("names") or ([s["name"]] if s.get("name") else []))
        if not names:
            continue
        rule: dict[str, Any] = {"names": names, "action": s["action"]}
        if s.get("errnoRet") is not None:
            rule["errnoRet"] = int(s["errnoRet"])
        if s.get("args"):
            rule["args"] = [{"index": int(a["index"]), "value": int(a.get("value", 0)),
                             "valueTwo": int(a.get("valueTwo", 0)), "op": a["op"]}
                            for a in s["args"]]
        syscalls.append(rule)
    out["syscalls"] = syscalls
    return out
