"""The OCI runtimes a daemon offers (`--runtime`, daemon.json `runtimes`/`default-runtime`), and which work here.

BUILTIN is the one list of runtimes known without configuration: the built-in runtime, then
runc-compatible CLIs found on PATH. daemon.json `runtimes` adds (or overrides) entries by name.
What the supervisor does with the chosen program is runtime/drivers.py's RuntimeDriver seam.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Callable

from .. import errors

BUILTIN_NAME = "builtin"


def hybrid_with_v2_controllers(root: str = "/sys/fs/cgroup") -> bool:
    """A v1/v2 hybrid host (v2 mounted at root/unified) with any controller enabled on the v2 side."""
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        return False
    try:
        with open(os.path.join(root, "unified", "cgroup.controllers")) as f:
            return bool(f.read().split())
    except OSError:
        return False


def _crun_refusal() -> str | None:
    if hybrid_with_v2_controllers():
        return ("runtime crun cannot run containers on this host: it refuses a cgroup v1/v2 hybrid with "
                "controllers enabled on the v2 side (cgroups in hybrid mode not supported); use runc or builtin")
    return None


@dataclass(frozen=True)
class KnownRuntime:
    """A runtime offered without configuration: how to find its program, and when it cannot work here."""

    name: str
    find: Callable[[], str | None]                      # the program, or None when not installed
    refusal: Callable[[], str | None] = lambda: None    # why it cannot run containers on this host


BUILTIN: tuple[KnownRuntime, ...] = (
    KnownRuntime(BUILTIN_NAME, lambda: BUILTIN_NAME),
    KnownRuntime("runc", lambda: shutil.which("runc")),
    KnownRuntime("crun", lambda: shutil.which("crun"), _crun_refusal),
)
KNOWN_CLI = tuple(k.name for k in BUILTIN if k.name != BUILTIN_NAME)


def available(configured: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """name -> program: the built-in runtime, runc/crun when installed, and daemon.json's `runtimes`."""
    found: dict[str, str] = {}
    for known in BUILTIN:
        program = known.find()
        if program:
            found[known.name] = program
    for name, entry in (configured or {}).items():
        found[name] = (entry or {}).get("path") or name
    return found


def resolve(name: str, runtimes: dict[str, str]) -> str:
    """The program for runtime `name`; a runtime that cannot work on this host is refused with the reason."""
    program = runtimes.get(name)
    if program is None:
        raise errors.InvalidParameter(f"Unknown runtime specified {name}")
    for known in BUILTIN:
        if os.path.basename(program) == known.name:
            reason = known.refusal()
            if reason:
                raise errors.InvalidParameter(reason)
    return program


def usable(configured: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Names of the offered runtimes that can run containers on this host (for conformance runs)."""
    runtimes = available(configured)
    out = []
    for name in runtimes:
        try:
            resolve(name, runtimes)
        except errors.InvalidParameter:
            continue
        out.append(name)
    return out
