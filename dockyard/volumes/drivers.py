"""Every volume driver built in, registered from this one list."""
from __future__ import annotations

from .driver import VolumeDriver
from .local import LocalDriver

BUILTIN = (LocalDriver,)


def builtin(volumes_root: str) -> dict[str, VolumeDriver]:
    return {cls.name: cls(volumes_root) for cls in BUILTIN}
