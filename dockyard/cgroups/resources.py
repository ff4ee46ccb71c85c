"""The resource limits Dockyard applies, parsed from OCI `linux.resources`."""
from __future__ import annotations

from dataclasses import dataclass
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
        )


def shares_to_weight(shares: int) -> int:
    """The conversion runc and the kernel docs use: shares 2..262144 -> weight 1..10000."""
    if shares <= 0:
        return 100
    return 1 + ((max(2, min(shares, 262144)) - 2) * 9999) // 262142
