"""The vfs storage driver: every layer and container is a full copy; works on any filesystem."""
from __future__ import annotations

import subprocess
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFound, SystemFailure
from .apply import ApplyResult, apply_layer
from .limits import DEFAULT, UnpackLimits
from .driver import Mount, PendingLayer, dir_size, rmtree
from .streams import TeeReader
from .tarwrite import write_tree


def _copy(src: Path, dst: Path) -> None:
    # cp -a keeps owners, modes, times, devices and xattrs; shutil.copytree does not.
    r = subprocess.run(["cp", "-a", "--reflink=auto", f"{src}/.", str(dst)], capture_output=True)
    if r.returncode:
        raise SystemFailure(f"vfs copy {src}: {r.stderr.decode().strip()}")


class VfsDriver:
    """overlay's seam with plain directories: vfs/dir/<id> is the full tree of a layer."""

    name = "vfs"
    aliases: tuple[str, ...] = ()

    def __init__(self, data_root: Path) -> None:
        self.home = Path(data_root) / "vfs" / "dir"
        self.tmp = Path(data_root) / "vfs" / "tmp"
        self.home.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def status(self) -> list[list[str]]:
        return []

    def begin_layer(self, parent: str | None) -> PendingLayer:
        path = self.tmp / uuid.uuid4().hex
        (path / "diff").mkdir(parents=True)
        if parent is not None:
            _copy(self._dir(parent), path / "diff")
        return PendingLayer(path, parent)

    def apply(self, pending: PendingLayer, stream: BinaryIO | TeeReader,
              limits: UnpackLimits = DEFAULT) -> ApplyResult:
        pending.result = apply_layer(stream, str(pending.path / "diff"), "delete", limits)
        return pending.result

    def commit_layer(self, pending: PendingLayer, chain_id: str) -> bool:
        with self._lock:
            if (self.home / chain_id).exists():
                self.discard(pending)
                return False
            (pending.path / "diff").rename(self.home / chain_id)
            rmtree(pending.path)
            return True

    def discard(self, pending: PendingLayer) -> None:
        rmtree(pending.path)

    def has_layer(self, chain_id: str) -> bool:
        return (self.home / chain_id).is_dir()

    def remove_layer(self, chain_id: str) -> None:
        rmtree(self.home / chain_id)

    def layer_size(self, chain_id: str) -> int:
        return dir_size(str(self.home / chain_id))

    def prepare(self, container_id: str, parent: str | None) -> Mount:
        path = self.home / container_id
        if not path.exists():
            tmp = self.tmp / uuid.uuid4().hex
            tmp.mkdir()
            if parent is not None:
                _copy(self._dir(parent), tmp)
            tmp.rename(path)
        return self.mounts(container_id)

    def mounts(self, container_id: str) -> Mount:
        return Mount("bind", str(self._dir(container_id)), ["rbind", "rw"])

    def remove(self, container_id: str) -> None:
        rmtree(self.home / container_id)

    def diff_size(self, container_id: str) -> int:
        return dir_size(str(self.home / container_id))  # vfs cannot tell changes from the image

    def diff(self, container_id: str, out: BinaryIO) -> None:
        write_tree(str(self._dir(container_id)), out)

    def merged_dir(self, id: str) -> str:
        return str(self.home / id)

    def metadata(self, id: str) -> dict[str, str]:
        return {}

    def known_ids(self) -> set[str]:
        return {p.name for p in self.home.iterdir()}

    def clean_tmp(self) -> None:
        rmtree(self.tmp)
        self.tmp.mkdir(exist_ok=True)

    def _dir(self, id: str) -> Path:
        path = self.home / id
        if not path.is_dir():
            raise NotFound(f"layer {id} does not exist")
        return path

