"""Test helpers: a busybox rootfs from /bin/busybox and Docker-like OCI bundles around it."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def make_rootfs(path: str) -> str:
    os.makedirs(os.path.join(path, "bin"), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(path, "bin", "busybox"))
    subprocess.run([os.path.join(path, "bin", "busybox"), "--install", "-s", os.path.join(path, "bin")],
                   check=True)
    # --install writes links to the host path of the binary; relink them to /bin/busybox.
    for name in os.listdir(os.path.join(path, "bin")):
        p = os.path.join(path, "bin", name)
        if os.path.islink(p):
            os.unlink(p)
            os.symlink("/bin/busybox", p)
    for d in ("etc", "proc", "sys", "dev", "tmp", "root"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    with open(os.path.join(path, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    with open(os.path.join(path, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    return path


def spec(args: list[str], cid: str, hostname: str = "dytest", terminal: bool = False,
         memory: int | None = None, pids: int | None = None, readonly: bool = False,
         nofile: int = 1024) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if memory:
        res["memory"] = {"limit": memory, "swap": memory}
    if pids:
        res["pids"] = {"limit": pids}
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": terminal, "user": {"uid": 0, "gid": 0}, "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
            "cwd": "/",
            "capabilities": {k: DEFAULT_CAPS for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": nofile, "soft": nofile}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": readonly},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
        ],
        "linux": {
            "cgroupsPath": f"/dytest/{cid}",
            "resources": res,
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }


def make_bundle(base: str, rootfs: str, args: list[str], cid: str, **kw: Any) -> str:
    """A bundle dir whose rootfs is a symlink-free bind target: copy of the shared busybox tree."""
    b = os.path.join(base, cid)
    os.makedirs(b, exist_ok=True)
    if not os.path.exists(os.path.join(b, "rootfs")):
        shutil.copytree(rootfs, os.path.join(b, "rootfs"), symlinks=True)
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(spec(args, cid, **kw), f)
    return b
