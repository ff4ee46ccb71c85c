"""The `local` volume driver: a directory under <data-root>/volumes, or a mount made from the
`type`/`device`/`o` options like Docker's local driver (tmpfs, o=bind, nfs, ...)."""
from __future__ import annotations

import logging
import os
import socket
import stat
import threading

from ..errors import InvalidParameter, SystemFailure
from ..linux import fstree
from ..linux.kernel import Kernel
from ..linux.mount import MS_BIND, parse_options

log = logging.getLogger("dockyard.volumes")

VALID_OPTIONS = ("type", "device", "o", "size")


class LocalDriver:
    name = "local"

    def __init__(self, root: str, kernel: Kernel | None = None) -> None:
        self.root = root
        self.kernel = kernel or Kernel()  # every mount and unmount goes through it
        self._lock = threading.Lock()
        self._refs: dict[str, set[str]] = {}

    def _dir(self, name: str) -> str:
        return os.path.join(self.root, name)

    def mountpoint(self, name: str) -> str:
        return os.path.join(self._dir(name), "_data")

    def validate(self, options: dict[str, str]) -> None:
        for key in options:
            if key not in VALID_OPTIONS:
                raise InvalidParameter(f'invalid option key: "{key}"')
        if options.get("size"):
            raise InvalidParameter("quota size requested but no quota support")
        if options and not options.get("type") and not options.get("device"):
            return
        if options.get("type") and not options.get("device"):
            raise InvalidParameter('missing required option: "device"')
        if options.get("device") and not options.get("type"):
            raise InvalidParameter('missing required option: "type"')
        if "bind" in (options.get("o") or "").split(",") and not os.path.exists(options["device"]):
            # Docker finds out at mount time; at create is kinder, and leaves nothing behind
            raise InvalidParameter(f"failed to mount local volume: mount {options['device']}: "
                                   "no such file or directory")

    def create(self, name: str, options: dict[str, str]) -> str:
        os.makedirs(self.mountpoint(name), mode=0o755, exist_ok=True)
        os.chmod(self._dir(name), 0o701)
        return self.mountpoint(name)

    def remove(self, name: str) -> None:
        with self._lock:
            if self._refs.get(name):
                raise SystemFailure(f"volume {name} is still mounted")
        path = self.mountpoint(name)
        if self.kernel.is_mountpoint(path):  # (a bind of the same file system fools os.path.ismount)
            self._umount(path)
        if self.kernel.is_mountpoint(path):
            # never delete through a mount: that would be the bound directory's content
            raise SystemFailure(f"remove {name}: the volume is still mounted at {path}")
        fstree.remove_tree(self._dir(name), ignore_errors=True)

    def mount(self, name: str, options: dict[str, str], ref: str) -> str:
        path = self.mountpoint(name)
        os.makedirs(path, exist_ok=True)
        with self._lock:
            refs = self._refs.setdefault(name, set())
            if options.get("type") and not refs and not self.kernel.is_mountpoint(path):
                self._mount(options, path)
            refs.add(ref)
        return path

    def adopt(self, name: str, ref: str) -> None:
        """A running container found after a daemon restart keeps its reference."""
        with self._lock:
            self._refs.setdefault(name, set()).add(ref)

    def _mount(self, options: dict[str, str], path: str) -> None:
        kind, device = options["type"], options["device"]
        flags, data = parse_options([o for o in (options.get("o") or "").split(",") if o])
        if kind == "bind":
            flags |= MS_BIND
        if kind.startswith("nfs"):
            data = _resolve_nfs_addr(data)
        try:
            self.kernel.mount(device, path, kind, flags, data or None)
        except OSError as e:  # Docker's wording (moby/sys/mount's error inside the local driver's)
            detail = f", data: {data}" if data else ""
            reason = os.strerror(e.errno or 0)
            raise SystemFailure(f"error while mounting volume '{path}': failed to mount local volume: "
                               f"mount {device}:{path}, flags: {flags:#x}{detail}: "
                               f"{reason[:1].lower()}{reason[1:]}") from None

    def _umount(self, path: str) -> None:
        try:
            self.kernel.umount(path)
        except OSError as e:
            log.warning("unmount volume at %s: %s", path, e)

    def unmount(self, name: str, ref: str) -> None:
        with self._lock:
            refs = self._refs.get(name) or set()
            refs.discard(ref)
            if refs:
                return
            self._refs.pop(name, None)
        path = self.mountpoint(name)
        if self.kernel.is_mountpoint(path):
            self._umount(path)

    def usage(self, name: str) -> int:
        try:
            return sum(e.st.st_blocks * 512 for e in fstree.walk(self.mountpoint(name))
                       if not stat.S_ISDIR(e.st.st_mode))
        except OSError:
            return 0


def _resolve_nfs_addr(data: str) -> str:
    """mount(2) takes an NFS server as an address: resolve `addr=host`, as Docker's local driver does."""
    words = data.split(",") if data else []
    for i, word in enumerate(words):
        if word.startswith("addr="):
            try:
                words[i] = "addr=" + socket.gethostbyname(word[5:])
            except OSError as e:
                raise InvalidParameter(f"error resolving passed in network volume address: {e}") from None
    return ",".join(words)
