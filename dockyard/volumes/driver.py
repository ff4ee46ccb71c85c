"""The volume driver interface: what a driver (local, later plugins) does for the volume service."""
from __future__ import annotations

from typing import Protocol


class VolumeDriver(Protocol):
    name: str

    def validate(self, options: dict[str, str]) -> None:
        """Refuse options this driver does not understand (InvalidParameter)."""

    def create(self, name: str, options: dict[str, str]) -> str:
        """Make the volume and return its Mountpoint."""

    def remove(self, name: str) -> None: ...

    def mountpoint(self, name: str) -> str: ...

    def mount(self, name: str, options: dict[str, str], ref: str) -> str:
        """Make the volume usable by `ref` (a container id); returns the path to bind."""

    def unmount(self, name: str, ref: str) -> None: ...

    def usage(self, name: str) -> int:
        """Bytes used, or -1 when the driver cannot tell."""
