"""The OCI runtimes a daemon offers (`--runtime`, daemon.json `runtimes`/`default-runtime`), and which work here."""
from __future__ import annotations

import os
import shutil

from .. import errors

BUILTIN = "builtin"
KNOWN_CLI = ("runc", "crun")


def available(configured: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """name -> program: the built-in runtime, runc/crun when installed, and daemon.json's `runtimes`."""
    found = {BUILTIN: BUILTIN}
    for name in KNOWN_CLI:
        path = shutil.which(name)
        if path:
            found[name] = path
    for name, entry in (configured or {}).items():
        path = (entry or {}).get("path") or name
        found[name] = path
    return found


def hybrid_with_v2_controllers(root: str = "/sys/fs/cgroup") -> bool:
    """A v1/v2 hybrid host (v2 mounted at root/unified) with any controller enabled on the v2 side."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return False
    try:
        with open(os.path.join(root, "unified", "cgroup.controllers")) as f:
            return bool(f.read().split())
    except OSError:
        return False


def resolve(name: str, runtimes: dict[str, str]) -> str:
    """The program for runtime `name`; a runtime that cannot work on this host is refused with the reason."""
    program = runtimes.get(name)
    if program is None:
        raise errors.InvalidParameter(f"Unknown runtime specified {name}")
    if os.path.basename(program) == "crun" and hybrid_with_v2_controllers():
        raise errors.InvalidParameter(
            "runtime crun cannot run containers on this host: it refuses a cgroup v1/v2 hybrid with "
            "controllers enabled on the v2 side (cgroups in hybrid mode not supported); use runc or builtin")
    return program
