"""The resource limits Dockyard applies, parsed from OCI `linux.resources`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Resources:
    memory: int | None = None          # bytes
    memory_swap: int | None = None     # memory+swap bytes (-1 unlimited)
    pids: int | None = None            # max tasks (-1 / 0 unlimited)
    cpu_shares: int | None = None      # v1 shares (v2 weight is derived)
    cpu_quota: int | None = None       # microseconds per period
    cpu_period: int | None = None      # microseconds
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    memory_reservation: int | None = None   # soft limit, bytes
    oom_kill_disable: bool = False
    blkio_weight: int | None = None         # 10..1000 (v2 io.weight is derived)
    devices: list[dict[str, Any]] = field(default_factory=list)  # OCI device cgroup rules, in order

    @classmethod
    def from_oci(cls, res: dict[str, Any] | None) -> "Resources":
        res = res or {}
        mem = res.get("memory") or {}
        cpu = res.get("cpu") or {}
        pids = res.get("pids") or {}
        return cls(
            memory=mem.get("limit"), memory_swap=mem.get("swap"), pids=pids.get("limit"),
            cpu_shares=cpu.get("shares"), cpu_quota=cpu.get("quota"), cpu_period=cpu.get("period"),
            cpuset_cpus=cpu.get("cpus") or None, cpuset_mems=cpu.get("mems") or None,
            memory_reservation=mem.get("reservation"),
            oom_kill_disable=bool(mem.get("disableOOMKiller")),
            blkio_weight=(res.get("blockIO") or {}).get("weight"),
            devices=list(res.get("devices") or []),
        )


def device_rule(rule: dict[str, Any]) -> str:
    """An OCI device cgroup rule in the v1 `devices.allow`/`devices.deny` syntax."""
    typ = rule.get("type") or "a"
    major = "*" if rule.get("major") is None or rule.get("major") == -1 else str(rule["major"])
    minor = "*" if rule.get("minor") is None or rule.get("minor") == -1 else str(rule["minor"])
    if typ == "a":
        return "a"
    return f"{typ} {major}:{minor} {rule.get('access') or 'rwm'}"


def shares_to_weight(shares: int) -> int:
    """The conversion runc and the kernel docs use: shares 2..262144 -> weight 1..10000."""
    if shares <= 0:
        return 100
    return 1 + ((max(2, min(shares, 262144)) - 2) * 9999) // 262142
