"""A VolumeDriver plugin backed by a directory: each volume is <root>/volumes/<name>, its options
are kept in <root>/meta/<name>.json, and mounts are counted by Docker's mount IDs.

Option `fault` makes a call misbehave on purpose (for the daemon's fault tests):
`fault=hang` (Create never answers), `fault=garbage` (Create answers non-JSON),
`fault=crash` (the process exits during Create)."""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from base import Garbage, Refused, arguments, serve  # noqa: E402 - a script beside its helper

OPTIONS = ("note", "mode", "fault")


class DirVolumes:
    def __init__(self, root: str) -> None:
        self.root = root
        self.mounts: dict[str, set[str]] = {}  # volume -> mount IDs in use
        self.lock = threading.Lock()
        os.makedirs(os.path.join(root, "volumes"), exist_ok=True)
        os.makedirs(os.path.join(root, "meta"), exist_ok=True)

    def _path(self, name: str) -> str:
        if not name or "/" in name or name.startswith("."):
            raise Refused(f"invalid volume name {name!r}")
        return os.path.join(self.root, "volumes", name)

    def _meta(self, name: str) -> str:
        return os.path.join(self.root, "meta", name + ".json")

    def _existing(self, name: str) -> str:
        path = self._path(name)
        if not os.path.isdir(path):
            raise Refused(f"no such volume: {name}")
        return path

    def activate(self, _: dict[str, Any]) -> Any:
        return {"Implements": ["VolumeDriver"]}

    def create(self, req: dict[str, Any]) -> Any:
        opts = req.get("Opts") or {}
        for key in opts:
            if key not in OPTIONS:
                raise Refused(f'invalid option key: "{key}"')
        fault = opts.get("fault")
        if fault == "hang":
            time.sleep(3600)
        if fault == "garbage":
            raise Garbage("<html>this is not the plugin protocol</html>")
        if fault == "crash":
            os._exit(3)
        path = self._path(req["Name"])
        os.makedirs(path, exist_ok=True)
        if opts.get("mode"):
            os.chmod(path, int(opts["mode"], 8))
        with open(self._meta(req["Name"]), "w") as f:
            json.dump({"Opts": opts, "CreatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
        return {}

    def remove(self, req: dict[str, Any]) -> Any:
        name = req["Name"]
        path = self._existing(name)
        with self.lock:
            if self.mounts.get(name):
                raise Refused(f"volume {name} is in use by {len(self.mounts[name])} mount(s)")
        shutil.rmtree(path)
        if os.path.exists(self._meta(name)):
            os.unlink(self._meta(name))
        return {}

    def path(self, req: dict[str, Any]) -> Any:
        return {"Mountpoint": self._existing(req["Name"])}

    def mount(self, req: dict[str, Any]) -> Any:
        path = self._existing(req["Name"])
        if not req.get("ID"):
            raise Refused("Mount without an ID")
        with self.lock:
            self.mounts.setdefault(req["Name"], set()).add(req["ID"])
        return {"Mountpoint": path}

    def unmount(self, req: dict[str, Any]) -> Any:
        self._existing(req["Name"])
        with self.lock:
            ids = self.mounts.get(req["Name"], set())
            if req.get("ID") not in ids:
                raise Refused(f"volume {req['Name']} has no mount {req.get('ID')}")
            ids.discard(req["ID"])
        return {}

    def _volume(self, name: str) -> dict[str, Any]:
        status: dict[str, Any] = {"mounts": len(self.mounts.get(name, ()))}
        try:
            with open(self._meta(name)) as f:
                meta = json.load(f)
            status["opts"] = meta.get("Opts")
            return {"Name": name, "Mountpoint": self._path(name), "CreatedAt": meta.get("CreatedAt"),
                    "Status": status}
        except FileNotFoundError:
            return {"Name": name, "Mountpoint": self._path(name), "Status": status}

    def get(self, req: dict[str, Any]) -> Any:
        self._existing(req["Name"])
        return {"Volume": self._volume(req["Name"])}

    def list(self, _: dict[str, Any]) -> Any:
        names = sorted(os.listdir(os.path.join(self.root, "volumes")))
        return {"Volumes": [self._volume(n) for n in names]}

    def capabilities(self, _: dict[str, Any]) -> Any:
        return {"Capabilities": {"Scope": "local"}}


def main() -> None:
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--root", required=True, help="directory that holds the volumes")
    args = p.parse_args()
    v = DirVolumes(args.root)
    serve(args.socket, {"Plugin.Activate": v.activate, "VolumeDriver.Create": v.create,
                        "VolumeDriver.Remove": v.remove, "VolumeDriver.Path": v.path,
                        "VolumeDriver.Mount": v.mount, "VolumeDriver.Unmount": v.unmount,
                        "VolumeDriver.Get": v.get, "VolumeDriver.List": v.list,
                        "VolumeDriver.Capabilities": v.capabilities}, args.calls_log)


if __name__ == "__main__":
    main()
