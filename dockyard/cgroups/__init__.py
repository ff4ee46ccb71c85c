"""cgroups v1 and v2 behind one interface; the hierarchy root is injected so tests can use a tmp dir."""
from __future__ import annotations

import os

from .base import Cgroup, CgroupError
from .resources import Resources
from .v1 import V1Cgroup
from .v2 import V2Cgroup

DEFAULT_ROOT = "/sys/fs/cgroup"

__all__ = ["Cgroup", "CgroupError", "Resources", "V1Cgroup", "V2Cgroup", "DEFAULT_ROOT", "is_v2", "open_cgroup",
           "unified_root"]


def is_v2(root: str = DEFAULT_ROOT) -> bool:
    """A unified (v2-only) host has cgroup.controllers at the root; a v1/v2 hybrid keeps v2 at root/unified and uses v1."""
    return os.path.exists(os.path.join(root, "cgroup.controllers"))


def unified_root(root: str = DEFAULT_ROOT) -> str | None:
    """The cgroup2 hierarchy of a v1/v2 hybrid host (root/unified), if it is mounted there."""
    d = os.path.join(root, "unified")
    return d if not is_v2(root) and os.path.exists(os.path.join(d, "cgroup.controllers")) else None


def open_cgroup(path: str, root: str = DEFAULT_ROOT) -> Cgroup:
    """The cgroup at OCI `linux.cgroupsPath` (e.g. /dockyard/<id>) under `root`, in whichever version the host runs.
    On a hybrid host the v1 group also lives in the unified hierarchy, which carries its device filter."""
    return V2Cgroup(root, path) if is_v2(root) else V1Cgroup(root, path, unified=unified_root(root))
