"""Security settings of a container's OCI spec: seccomp, no-new-privileges, devices, sysctls, init.

Pure functions of the Engine API HostConfig (plus what the host has in /dev): `spec.py` calls them,
`containers/createconfig.py` calls the validators so that bad input is a 400 at create.
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameter
from . import seccomp

# runc's always-allowed devices (mknod of anything, then the usual character nodes and ptys).
DEFAULT_DEVICE_RULES: list[dict[str, Any]] = [
    {"allow": False, "access": "rwm"},
    {"allow": True, "type": "c", "access": "m"},
    {"allow": True, "type": "b", "access": "m"},
    *({"allow": True, "type": "c", "major": ma, "minor": mi, "access": "rwm"}
      for ma, mi in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2))),
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
]
# Sysctls that live in a namespace of the container (runc refuses every other one).
_NS_SYSCTLS = {"kernel.msgmax": "ipc", "kernel.msgmnb": "ipc", "kernel.msgmni": "ipc",
               "kernel.sem": "ipc", "kernel.shmall": "ipc", "kernel.shmmax": "ipc",
               "kernel.shmmni": "ipc", "kernel.shm_rmid_forced": "ipc",
               "kernel.domainname": "uts", "kernel.hostname": "uts"}
_SKIP_DEV_DIRS = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}
INIT_PATH_IN_CONTAINER = "/sbin/docker-init"
INIT_CANDIDATES = ("docker-init", "tini-static", "tini")


@dataclass
class SecurityOptions:
    seccomp: dict[str, Any] | None      # a profile in Docker's format; None: unconfined
    no_new_privileges: bool


def parse_security_opts(host_config: dict[str, Any]) -> SecurityOptions:
    """HostConfig.SecurityOpt: seccomp=unconfined|<profile JSON>, no-new-privileges[:true|false],
    label=... and apparmor=... (accepted: this host has neither SELinux nor AppArmor in use)."""
    profile: dict[str, Any] | None = seccomp.default_profile()
    nnp = False
    for opt in host_config.get("SecurityOpt") or []:
        if not isinstance(opt, str):
            raise InvalidParameter(f"Invalid --security-opt: {opt!r}")
        if opt == "no-new-privileges":
            nnp = True
            continue
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")  # the old `seccomp:unconfined` spelling
        if not sep:
            raise InvalidParameter(f'Invalid --security-opt 1: "{opt}"')
        if key == "no-new-privileges":
            if value.lower() not in ("true", "false", "1", "0"):
                raise InvalidParameter(f"invalid --security-opt 2: {opt!r}")
            nnp = value.lower() in ("true", "1")
        elif key == "seccomp":
            if value == "unconfined":
                profile = None
            elif value == "builtin":
                profile = seccomp.default_profile()
            else:
                profile = seccomp.parse_profile(value)
        elif key in ("label", "apparmor", "systempaths", "writable-cgroups", "mask", "unmask"):
            continue
        else:
            raise InvalidParameter(f'Invalid --security-opt 2: "{opt}"')
    if host_config.get("Privileged"):
        profile = None
    return SecurityOptions(profile, nnp)


def seccomp_config(host_config: dict[str, Any], caps: list[str]) -> dict[str, Any] | None:
    profile = parse_security_opts(host_config).seccomp
    return None if profile is None else seccomp.to_oci(profile, caps)


def check_sysctls(host_config: dict[str, Any]) -> None:
    for key in host_config.get("Sysctls") or {}:
        ns = _NS_SYSCTLS.get(key)
        if ns is None and (key.startswith("net.") or key.startswith("fs.mqueue.")):
            ns = "net" if key.startswith("net.") else "ipc"
        if ns is None:
            raise InvalidParameter(f"sysctl {key!r} is not in a separate kernel namespace")
        mode = {"net": host_config.get("NetworkMode"), "ipc": host_config.get("IpcMode"),
                "uts": host_config.get("UTSMode")}[ns]
        if mode == "host":
            raise InvalidParameter(f"sysctl {key!r} is not allowed in the host {ns} namespace")


def _device(path: str, st: os.stat_result, dest: str) -> dict[str, Any]:
    return {"path": dest, "type": "b" if stat.S_ISBLK(st.st_mode) else "c",
            "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def host_devices(root: str = "/dev") -> list[dict[str, Any]]:
    """Every device node of the host (for --privileged), as OCI `linux.devices`."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DEV_DIRS]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if path == os.path.join(root, "console"):
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                out.append(_device(path, st, path))
    return out


def user_devices(host_config: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """HostConfig.Devices -> (OCI devices, device cgroup rules). A missing path is a 400."""
    devices, rules = [], []
    for d in host_config.get("Devices") or []:
        src = d.get("PathOnHost") or ""
        dst = d.get("PathInContainer") or src
        perms = d.get("CgroupPermissions") or "rwm"
        if not src.startswith("/") or not dst.startswith("/"):
            raise InvalidParameter(f"{src}:{dst} is not an absolute path")
        if not perms or any(ch not in "rwm" for ch in perms):
            raise InvalidParameter(f"invalid device cgroup permissions: {perms}")
        try:
            st = os.stat(src)
        except OSError as e:
            raise InvalidParameter(f'error gathering device information while adding custom '
                                   f'device "{src}": {(e.strerror or "").lower()}') from None
        found: list[tuple[str, os.stat_result, str]] = []
        if stat.S_ISDIR(st.st_mode):
            for dirpath, _, files in os.walk(src):
                for f in files:
                    p = os.path.join(dirpath, f)
                    s = os.lstat(p)
                    if stat.S_ISCHR(s.st_mode) or stat.S_ISBLK(s.st_mode):
                        found.append((p, s, os.path.join(dst, os.path.relpath(p, src))))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            found.append((src, st, dst))
        else:
            raise InvalidParameter(f'error gathering device information while adding custom '
                                   f'device "{src}": not a device node')
        for p, s, target in found:
            dev = _device(p, s, target)
            devices.append(dev)
            rules.append({"allow": True, "type": dev["type"], "major": dev["major"],
                          "minor": dev["minor"], "access": perms})
    return devices, rules


def init_binary(configured: str | None = None) -> str:
    """The host's tini (Debian `tini` package) that --init bind-mounts as /sbin/docker-init."""
    for name in ([configured] if configured else []) + list(INIT_CANDIDATES):
        path = name if name.startswith("/") else shutil.which(name)
        if path and os.access(path, os.X_OK):
            return path
    raise InvalidParameter('exec: "docker-init": executable file not found in $PATH')


def check_extra_hosts(host_config: dict[str, Any]) -> None:
    import ipaddress

    for entry in host_config.get("ExtraHosts") or []:
        name, sep, ip = str(entry).partition(":")
        if not sep or not name:
            raise InvalidParameter(f"bad format for add-host: {entry!r}")
        if ip != "host-gateway":
            try:
                ipaddress.ip_address(ip.strip("[]"))
            except ValueError:
                raise InvalidParameter(f'invalid IP address in add-host: "{ip}"') from None


def check_namespace_modes(host_config: dict[str, Any]) -> None:
    ipc = host_config.get("IpcMode") or ""
    if ipc not in ("", "private", "shareable", "host", "none") and not ipc.startswith("container:"):
        raise InvalidParameter(f"invalid IPC mode: {ipc}")
    pid = host_config.get("PidMode") or ""
    if pid not in ("", "host") and not pid.startswith("container:"):
        raise InvalidParameter(f"invalid PID mode: {pid}")
    uts = host_config.get("UTSMode") or ""
    if uts not in ("", "host"):
        raise InvalidParameter(f"invalid UTS mode: {uts}")


def validate(host_config: dict[str, Any]) -> None:
    """Everything above that can be judged at create time (a 400 that leaves nothing)."""
    parse_security_opts(host_config)
    check_sysctls(host_config)
    user_devices(host_config)
    check_extra_hosts(host_config)
    check_namespace_modes(host_config)
    if host_config.get("Init"):
        init_binary()
