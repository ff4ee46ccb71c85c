"""nftables through libnftables (the `nftables` binding of pip-nftables), `nft -f -` as fallback."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
from typing import Any, Protocol


class Nft(Protocol):
    def run(self, script: str) -> None: ...
    def list_json(self, command: str) -> list[dict[str, Any]]: ...


class NftError(OSError):
    pass


class Nftables:
    """One libnftables context, used under a lock (it is not thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        try:
            import nftables

            self._ctx: Any = nftables.Nftables()
        except (ImportError, OSError):
            self._ctx = None
            if shutil.which("nft") is None:
                raise NftError("nftables is not installed (need the nft command or libnftables)")

    def run(self, script: str) -> None:
        with self._lock:
            if self._ctx is not None:
                rc, _, err = self._ctx.cmd(script)
            else:
                p = subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True)
                rc, err = p.returncode, p.stderr
        if rc != 0:
            raise NftError(f"nft: {err.strip()}")

    def list_json(self, command: str) -> list[dict[str, Any]]:
        with self._lock:
            if self._ctx is not None:
                self._ctx.set_json_output(True)
                self._ctx.set_handle_output(True)
                try:
                    rc, out, err = self._ctx.cmd(command)
                finally:
                    self._ctx.set_json_output(False)
                    self._ctx.set_handle_output(False)
            else:
                p = subprocess.run(["nft", "-j", "-a", *command.split()], capture_output=True, text=True)
                rc, out, err = p.returncode, p.stdout, p.stderr
        if rc != 0:
            raise NftError(f"nft: {err.strip()}")
        return list(json.loads(out or "{}").get("nftables", []))
