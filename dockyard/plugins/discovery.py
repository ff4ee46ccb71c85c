"""Finding legacy plugins by name, as Docker does: a `.sock` file in a socket directory
(`<dir>/<name>.sock` or `<dir>/<name>/<name>.sock`), else a `.spec` (a URL) or `.json`
(`{"Name", "Addr"}`) file in a spec directory. The directories are configurable so tests use
scratch ones; Docker's own come first, then Dockyard's."""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import InvalidParameter

DOCKER_SOCKET_DIRS = ("/run/docker/plugins",)
DOCKER_SPEC_DIRS = ("/etc/docker/plugins", "/usr/lib/docker/plugins")
DOCKYARD_SOCKET_DIRS = ("/run/dockyard/plugins",)
DOCKYARD_SPEC_DIRS = ("/etc/dockyard/plugins", "/usr/lib/dockyard/plugins")
SPEC_SUFFIXES = (".spec", ".json")


@dataclass(frozen=True)
class Dirs:
    sockets: tuple[str, ...] = DOCKER_SOCKET_DIRS + DOCKYARD_SOCKET_DIRS
    specs: tuple[str, ...] = DOCKER_SPEC_DIRS + DOCKYARD_SPEC_DIRS
    extra: dict[str, str] = field(default_factory=dict)  # name -> address (managed plugins)


class Discovery:
    def __init__(self, dirs: Dirs = Dirs()) -> None:
        self.dirs = dirs

    def find(self, name: str) -> str | None:
        """The plugin's address (unix:///..., tcp://...), or None when no file names it."""
        if not name or "/" in name or name.startswith("."):
            return None
        if name in self.dirs.extra:
            return self.dirs.extra[name]
        for d in self.dirs.sockets:
            for path in (os.path.join(d, name + ".sock"), os.path.join(d, name, name + ".sock")):
                if _is_socket(path):
                    return "unix://" + path
        for d in self.dirs.specs:
            for suffix in SPEC_SUFFIXES:
                for path in (os.path.join(d, name + suffix), os.path.join(d, name, name + suffix)):
                    if os.path.isfile(path):
                        return read_spec(path)
        return None

    def names(self) -> list[str]:
        """Every plugin name the directories offer (for listing; each still activates lazily)."""
        found = set(self.dirs.extra)
        for d in self.dirs.sockets:
            found |= {n[:-5] for n in _listdir(d) if n.endswith(".sock") and _is_socket(os.path.join(d, n))}
            found |= {n for n in _listdir(d) if _is_socket(os.path.join(d, n, n + ".sock"))}
        for d in self.dirs.specs:
            for n in _listdir(d):
                stem, ext = os.path.splitext(n)
                if ext in SPEC_SUFFIXES:
                    found.add(stem)
        return sorted(found)


def read_spec(path: str) -> str:
    with open(path) as f:
        text = f.read()
    if path.endswith(".json"):
        try:
            addr = json.loads(text).get("Addr", "")
        except (ValueError, AttributeError):
            raise InvalidParameter(f"plugin spec {path}: not a JSON object with an Addr") from None
    else:
        addr = text.strip()
    scheme = urlsplit(addr).scheme
    if scheme not in ("unix", "tcp", "http"):
        raise InvalidParameter(f"plugin spec {path}: Unknown protocol in {addr!r}")
    return addr


def _listdir(d: str) -> list[str]:
    try:
        return os.listdir(d)
    except OSError:
        return []


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
