"""Build the OCI runtime config.json for a container from its Engine API configuration."""
from __future__ import annotations

import json
import os
import resource
from dataclasses import dataclass
from typing import Any

from . import security

# Docker's default capability set (the mask 0xa80425fb).
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]
MASKED_PATHS = [
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


@dataclass
class ProcessUser:
    uid: int
    gid: int
    additional_gids: list[int]
    home: str


def _mounts(shm_size: int, files_dir: str, host_network: bool) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", f"size={shm_size}"]},
    ]
    if host_network:
        # sysfs cannot be mounted fresh when the netns is shared with the host: bind it
        mounts[3] = {"destination": "/sys", "type": "bind", "source": "/sys",
                     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
    for name in ("resolv.conf", "hostname", "hosts"):
        mounts.append({"destination": f"/etc/{name}", "type": "bind",
                       "source": os.path.join(files_dir, name), "options": ["rbind", "rprivate"]})
    return mounts


def _capabilities(host_config: dict[str, Any]) -> list[str]:
    if host_config.get("Privileged"):
        return _all_caps()
    caps = set(DEFAULT_CAPS)
    norm = lambda c: c.upper() if c.upper().startswith("CAP_") else "CAP_" + c.upper()  # noqa: E731
    adds = [norm(c) for c in host_config.get("CapAdd") or []]
    drops = [norm(c) for c in host_config.get("CapDrop") or []]
    if "CAP_ALL" in drops:
        caps = set()
    if "CAP_ALL" in adds:
        caps |= set(_all_caps())
    caps |= {c for c in adds if c != "CAP_ALL"}
    caps -= {c for c in drops if c != "CAP_ALL"}
    return sorted(caps)


def _all_caps() -> list[str]:
    """Every capability the daemon itself may hold: its bounding set, not the kernel's full list
    (these hosts lack CAP_SYS_RESOURCE, and asking for it fails the start)."""
    from ..linux.caps import bounding_set, to_names
    from ..linux.capnames import CAPABILITIES  # the kernel's list, in one place

    held = set(to_names(bounding_set()))
    return [c for c in CAPABILITIES if c in held]


def _rlimits(host_config: dict[str, Any]) -> list[dict[str, Any]]:
    # The daemon's own hard limit is the ceiling: raising it needs CAP_SYS_RESOURCE, which
    # these machines lack, and a runtime that fails setrlimit fails the whole start.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = {"RLIMIT_NOFILE": (min(1048576, hard), min(1048576, hard))}
    for u in host_config.get("Ulimits") or []:
        name = "RLIMIT_" + str(u.get("Name", "")).upper()
        wanted[name] = (int(u.get("Soft", 0)), int(u.get("Hard", 0)))
    return [{"type": k, "soft": s, "hard": h} for k, (s, h) in wanted.items()]


def _resources(host_config: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = {"devices": [dict(r) for r in security.DEFAULT_DEVICE_RULES]}
    memory = host_config.get("Memory") or 0
    if memory:
        swap = host_config.get("MemorySwap") or 0
        res["memory"] = {"limit": memory}
        # Docker's default: swap allowed up to the memory limit again (total 2x); -1 unlimited
        res["memory"]["swap"] = -1 if swap == -1 else (swap or memory * 2)
    if host_config.get("MemorySwap") and not memory:
        res.setdefault("memory", {})["swap"] = host_config["MemorySwap"]
    if host_config.get("OomKillDisable"):
        res.setdefault("memory", {})["disableOOMKiller"] = True
    if host_config.get("BlkioWeight"):
        res["blockIO"] = {"weight": host_config["BlkioWeight"]}
    if host_config.get("MemoryReservation"):
        res.setdefault("memory", {})["reservation"] = host_config["MemoryReservation"]
    pids = host_config.get("PidsLimit")
    if pids and pids > 0:
        res["pids"] = {"limit": pids}
    cpu: dict[str, Any] = {}
    if host_config.get("CpuShares"):
        cpu["shares"] = host_config["CpuShares"]
    if host_config.get("NanoCpus"):
        cpu["period"] = 100000
        cpu["quota"] = host_config["NanoCpus"] * 100000 // 1_000_000_000
    if host_config.get("CpuQuota"):
        cpu["quota"] = host_config["CpuQuota"]
        cpu["period"] = host_config.get("CpuPeriod") or 100000
    if host_config.get("CpusetCpus"):
        cpu["cpus"] = host_config["CpusetCpus"]
    if host_config.get("CpusetMems"):
        cpu["mems"] = host_config["CpusetMems"]
    if cpu:
        res["cpu"] = cpu
    return res


def build(*, container_id: str, cgroup_parent: str, args: list[str], env: list[str], cwd: str, user: ProcessUser,
          hostname: str, rootfs: str, files_dir: str, config: dict[str, Any],
          host_config: dict[str, Any], joined: dict[str, str] | None = None,
          extra_mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`joined` maps OCI namespace types to the paths to join (--ipc/--pid container:X);
    `extra_mounts` are the container's volumes, binds and tmpfs mounts, in mount order."""
    network_mode = host_config.get("NetworkMode") or "default"
    caps = _capabilities(host_config)
    joined = joined or {}
    modes = {"pid": host_config.get("PidMode") or "", "ipc": host_config.get("IpcMode") or "",
             "uts": host_config.get("UTSMode") or "", "mount": "",
             "network": "host" if network_mode == "host" else ""}
    namespaces = [{"type": t, **({"path": joined[t]} if t in joined else {})}
                  for t, mode in modes.items() if mode != "host"]
    privileged = bool(host_config.get("Privileged"))
    sec = security.parse_security_opts(host_config)
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": bool(config.get("Tty")),
            "user": {"uid": user.uid, "gid": user.gid,
                     **({"additionalGids": user.additional_gids} if user.additional_gids else {})},
            "args": args,
            "env": env,
            "cwd": cwd or "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": _rlimits(host_config),
            "noNewPrivileges": sec.no_new_privileges,
            "oomScoreAdj": int(host_config.get("OomScoreAdj") or 0),
        },
        "root": {"path": rootfs, "readonly": bool(host_config.get("ReadonlyRootfs"))},
        "hostname": hostname,
        "mounts": _mounts(int(host_config.get("ShmSize") or 64 * 1024 * 1024), files_dir,
                          network_mode == "host"),
        "linux": {
            "namespaces": namespaces,
            "cgroupsPath": f"/{cgroup_parent.strip('/')}/{container_id}",
            "resources": _resources(host_config),
            "maskedPaths": [] if privileged else MASKED_PATHS,
            "readonlyPaths": [] if privileged else READONLY_PATHS,
        },
    }
    linux = spec["linux"]
    if sec.seccomp is not None:
        linux["seccomp"] = security.seccomp.to_oci(sec.seccomp, caps)
    if host_config.get("Sysctls"):
        linux["sysctl"] = dict(host_config["Sysctls"])
    devices, rules = security.user_devices(host_config)
    if privileged:
        linux["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
        devices = security.host_devices() + devices
        for m in spec["mounts"]:
            if m["destination"] == "/sys":
                m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    else:
        linux["resources"]["devices"] += rules
    if devices:
        linux["devices"] = devices
    if modes["uts"] == "host":
        spec.pop("hostname", None)
    _ipc_mounts(spec, modes["ipc"], joined.get("shm"))
    if host_config.get("Init"):
        spec["mounts"].append({"destination": security.INIT_PATH_IN_CONTAINER, "type": "bind",
                               "source": security.init_binary(), "options": ["rbind", "ro"]})
        spec["process"]["args"] = [security.INIT_PATH_IN_CONTAINER, "--", *args]
    # the user's mounts go under the /etc files Docker keeps on top (a volume on /etc keeps them)
    etc = [m for m in spec["mounts"] if m["destination"] in ("/etc/resolv.conf", "/etc/hostname",
                                                             "/etc/hosts")]
    spec["mounts"] = [m for m in spec["mounts"] if m not in etc] + (extra_mounts or []) + etc
    return spec


def _ipc_mounts(spec: dict[str, Any], mode: str, shared_shm: str | None) -> None:
    """/dev/shm follows the IPC namespace: the host's for host, none for none, and for
    shareable/container:X a tmpfs the daemon mounted on the host (`joined["shm"]`)."""
    shm = next((m for m in spec["mounts"] if m["destination"] == "/dev/shm"), None)
    if shm is None:
        return
    if mode == "none":
        spec["mounts"].remove(shm)
    elif mode == "host":
        shm.update({"type": "bind", "source": "/dev/shm", "options": ["rbind", "nosuid", "nodev",
                                                                     "noexec"]})
    elif shared_shm:
        shm.update({"type": "bind", "source": shared_shm, "options": ["rbind"]})


def write_bundle(bundle_dir: str, spec: dict[str, Any]) -> None:
    os.makedirs(bundle_dir, mode=0o711, exist_ok=True)
    tmp = os.path.join(bundle_dir, ".config.json.tmp")
    with open(tmp, "w") as f:
        json.dump(spec, f, indent=1)
    os.replace(tmp, os.path.join(bundle_dir, "config.json"))
