"""Everything a start needs on disk: the mounted rootfs, /etc files, and the OCI bundle."""
from __future__ import annotations

import os
from typing import Any, Protocol

from ..runtime import spec as ocispec
from . import mounts as mountslib
from .createconfig import DEFAULT_PATH
from .model import Container
from .user import resolve as resolve_user
from .user import resolve_groups


class RootfsMounter(Protocol):
    def mount_rootfs(self, container_id: str, target: str) -> None: ...
    def unmount_rootfs(self, container_id: str, target: str) -> None: ...


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _hosts(c: Container, host_network: bool) -> str:
    if host_network:
        with open("/etc/hosts") as f:
            return f.read()
    text = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
            "ff02::2\tip6-allrouters\n")
    for entry in c.host_config.get("ExtraHosts") or []:  # --add-host name:ip
        name, _, ip = entry.partition(":")
        text += f"{ip}\t{name}\n"
    for ip, names in (c.network_settings or {}).get("Hosts") or []:  # from network/sandbox.py
        text += f"{ip}\t{' '.join(names)}\n"
    return text


def _resolv_conf(c: Container, host_network: bool) -> str:
    try:
        with open("/etc/resolv.conf") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    if not host_network:
        # a loopback resolver of the host is not reachable from the container's own namespace
        lines = [l for l in lines if not (l.startswith("nameserver") and
                                          (" 127." in l or " ::1" in l))]
    dns = (c.network_settings or {}).get("Nameservers") or c.host_config.get("Dns") or []
    if dns:  # the embedded DNS (127.0.0.11) on user-defined networks forwards to --dns itself
        lines = [l for l in lines if not l.startswith("nameserver")] + [f"nameserver {d}" for d in dns]
    return "\n".join(lines) + "\n"


def write_etc_files(c: Container) -> None:
    host_network = c.host_config.get("NetworkMode") == "host"
    hostname = c.config.get("Hostname") or c.short_id
    _write(os.path.join(c.root_dir, "hostname"), hostname + "\n")
    _write(os.path.join(c.root_dir, "hosts"), _hosts(c, host_network))
    _write(os.path.join(c.root_dir, "resolv.conf"), _resolv_conf(c, host_network))


def process_env(c: Container, home: str) -> list[str]:
    env: list[str] = list(c.config.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in env}
    head = []
    if "PATH" not in keys:
        head.append(f"PATH={DEFAULT_PATH}")
    head.append(f"HOSTNAME={c.config.get('Hostname') or c.short_id}")
    if c.config.get("Tty") and "TERM" not in keys:
        head.append("TERM=xterm")
    env = head + [e for e in env if not e.startswith("HOSTNAME=")]
    if "HOME" not in keys:
        env.append(f"HOME={home or '/'}")
    return env


def build_spec(c: Container, cgroup_parent: str, joined: dict[str, str] | None = None,
               mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`joined`: namespaces of other containers (--ipc/--pid container:X); `mounts`: volumes."""
    user = resolve_user(c.rootfs, c.config.get("User") or "")
    user.additional_gids = sorted(set(user.additional_gids) |
                                  set(resolve_groups(c.rootfs, c.host_config.get("GroupAdd") or [])))
    hostname = c.config.get("Hostname") or c.short_id
    if c.host_config.get("NetworkMode") == "host":
        hostname = os.uname().nodename
    sandbox = (c.network_settings or {}).get("SandboxKey")  # the netns the daemon made
    return ocispec.build(
        joined={**(joined or {}), **({"network": sandbox} if sandbox else {})},
        extra_mounts=mounts,
        container_id=c.id, cgroup_parent=cgroup_parent, args=[c.path, *c.args], env=process_env(c, user.home),
        cwd=c.config.get("WorkingDir") or "/",
        user=ocispec.ProcessUser(user.uid, user.gid, user.additional_gids, user.home),
        hostname=hostname, rootfs=c.rootfs, files_dir=c.root_dir, config=c.config,
        host_config=c.host_config)


def prepare_bundle(c: Container, images: RootfsMounter, bundle: str, cgroup_parent: str,
                   joined: dict[str, str] | None = None,
                   volumes: mountslib.Volumes | None = None) -> None:
    """Mount the rootfs and write the bundle; on any failure leave nothing mounted."""
    os.makedirs(c.rootfs, exist_ok=True)
    images.mount_rootfs(c.id, c.rootfs)
    try:
        write_etc_files(c)
        mounts = mountslib.oci_mounts(c, volumes) if volumes is not None else None
        ocispec.write_bundle(bundle, build_spec(c, cgroup_parent, joined, mounts))
    except BaseException:
        if volumes is not None:
            mountslib.release(c, volumes)
        images.unmount_rootfs(c.id, c.rootfs)
        raise
