"""A VolumeDriver plugin as a `volumes.driver.VolumeDriver`: Create, Remove, Mount, Unmount,
Path, Get, List and Capabilities, with Docker's mount IDs.

Docker sends each mount of a volume its own ID and the matching Unmount the same ID; the plugin
counts them (a volume mounted by two containers gets two Mounts and two Unmounts). The ID here
is derived from volume and container, so a daemon restarted while a container runs still sends
the Unmount with the ID the Mount had."""
from __future__ import annotations

import hashlib
from typing import Any

from ..errors import NotFound, SystemFailure
from .client import PluginError
from .registry import Plugin


def mount_id(name: str, ref: str) -> str:
    return hashlib.sha256(f"{name}\0{ref}".encode()).hexdigest()


class PluginVolumeDriver:
    def __init__(self, name: str, plugin: Plugin) -> None:
        self.name = name
        self.plugin = plugin

    def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.plugin.call("VolumeDriver." + method, payload)
        if not isinstance(answer, dict):
            raise PluginError(f"VolumeDriver.{method}: plugin {self.name} answered {str(answer)[:80]}, "
                              "not a JSON object")
        return answer

    def validate(self, options: dict[str, str]) -> None:
        """Options are the plugin's own: it refuses bad ones at Create."""

    def create(self, name: str, options: dict[str, str]) -> str:
        try:
            self._call("Create", {"Name": name, "Opts": dict(options)})
        except PluginError as e:  # Docker's wording: "create NAME: VolumeDriver.Create: ..."
            raise PluginError(f"create {name}: {e.message}", e.status) from None
        return self.mountpoint(name)

    def remove(self, name: str) -> None:
        try:
            self._call("Remove", {"Name": name})
        except PluginError as e:
            raise PluginError(f"remove {name}: {e.message}", e.status) from None

    def mountpoint(self, name: str) -> str:
        return _text(self._call("Path", {"Name": name}).get("Mountpoint"))

    def mount(self, name: str, options: dict[str, str], ref: str) -> str:
        path = _text(self._call("Mount", {"Name": name, "ID": mount_id(name, ref)}).get("Mountpoint"))
        if not path.startswith("/"):
            raise SystemFailure(f"VolumeDriver.Mount: plugin {self.name} gave no absolute Mountpoint "
                                f"for {name}: {path!r}")
        return path

    def unmount(self, name: str, ref: str) -> None:
        self._call("Unmount", {"Name": name, "ID": mount_id(name, ref)})

    def usage(self, name: str) -> int:
        return -1

    # beyond the Protocol: what the plugin itself knows -----------------------------------
    def list_volumes(self) -> list[tuple[str, str]]:
        """(name, mountpoint) of every volume the plugin has."""
        found = self._call("List", {}).get("Volumes") or []
        if not isinstance(found, list):
            raise PluginError(f"VolumeDriver.List: plugin {self.name} answered Volumes={str(found)[:80]}")
        return [(str(v["Name"]), _text(v.get("Mountpoint"))) for v in found
                if isinstance(v, dict) and isinstance(v.get("Name"), str)]

    def get_volume(self, name: str) -> dict[str, Any]:
        try:
            v = self._call("Get", {"Name": name}).get("Volume")
        except PluginError as e:
            raise NotFound(f"get {name}: {e.message}") from None
        if not isinstance(v, dict):
            raise NotFound(f"get {name}: no such volume")
        return v

    def scope(self) -> str:
        caps = self._call("Capabilities", {}).get("Capabilities") or {}
        scope = caps.get("Scope") if isinstance(caps, dict) else None
        return scope if scope in ("local", "global") else "local"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
