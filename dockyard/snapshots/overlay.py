"""The overlay storage driver: one diff dir per layer, shared; containers get upper/work dirs."""
from __future__ import annotations

import base64
import os
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

from ..errors import NotFound
from .apply import ApplyResult, apply_layer
from .limits import DEFAULT, UnpackLimits
from .driver import Mount, PendingLayer, dir_size, rmtree
from .streams import TeeReader
from .tarwrite import write_tree


class OverlayDriver:
    """Layout (like Docker's overlay2):

        overlay/<id>/diff      the layer's own files (whiteouts as char 0/0 devices)
        overlay/<id>/work      overlay's work dir (used when <id> is an upper dir)
        overlay/<id>/merged    where a container rootfs is mounted by default
        overlay/<id>/link      the short name of this layer under overlay/l/
        overlay/<id>/lower     "l/A:l/B:..." the ancestors, nearest first
        overlay/l/<short>      -> ../<id>/diff, so lowerdir lists stay short
        overlay/tmp/           layers being unpacked (never read by a mount)
    """

    name = "overlay2"
    aliases: tuple[str, ...] = ("overlay",)

    def __init__(self, data_root: Path) -> None:
        self.home = Path(data_root) / "overlay"
        self.links = self.home / "l"
        self.tmp = self.home / "tmp"
        for d in (self.home, self.links, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # index=off lets one lower dir serve many mounts at once, as Docker sets it.
        self._extra = ["index=off"] if os.path.exists("/sys/module/overlay/parameters/index") else []

    def status(self) -> list[list[str]]:
        return [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]

    # -- layers -------------------------------------------------------------------
    def begin_layer(self, parent: str | None) -> PendingLayer:
        path = self.tmp / uuid.uuid4().hex
        (path / "diff").mkdir(parents=True)
        return PendingLayer(path, parent)

    def apply(self, pending: PendingLayer, stream: BinaryIO | TeeReader,
              limits: UnpackLimits = DEFAULT) -> ApplyResult:
        pending.result = apply_layer(stream, str(pending.path / "diff"), "overlay", limits)
        return pending.result

    def commit_layer(self, pending: PendingLayer, chain_id: str) -> bool:
        """Publish the pending layer as `chain_id`; False (and discarded) if it already exists."""
        with self._lock:
            target = self.home / chain_id
            if target.exists():
                self.discard(pending)
                return False
            self._write_links(pending.path, chain_id, pending.parent)
            (pending.path / "work").mkdir(exist_ok=True)
            os.rename(pending.path, target)
            return True

    def discard(self, pending: PendingLayer) -> None:
        rmtree(pending.path)

    def has_layer(self, chain_id: str) -> bool:
        return (self.home / chain_id / "diff").is_dir()

    def remove_layer(self, chain_id: str) -> None:
        self._remove_dir(chain_id)

    def layer_size(self, chain_id: str) -> int:
        return dir_size(str(self.home / chain_id / "diff"))

    # -- container layers ---------------------------------------------------------
    def prepare(self, container_id: str, parent: str | None) -> Mount:
        with self._lock:
            path = self.home / container_id
            if not path.exists():
                if parent is not None and not self.has_layer(parent):
                    raise NotFound(f"layer {parent} does not exist")
                tmp = self.tmp / uuid.uuid4().hex
                for sub in ("diff", "work", "merged"):
                    (tmp / sub).mkdir(parents=True)
                if parent is None:
                    (tmp / "empty").mkdir()  # overlay needs a lower dir even for a scratch image
                self._write_links(tmp, container_id, parent)
                os.rename(tmp, path)
        return self.mounts(container_id)

    def mounts(self, container_id: str) -> Mount:
        path = self.home / container_id
        if not (path / "diff").is_dir():
            raise NotFound(f"layer {container_id} does not exist")
        lowers = [str(self.home / p) for p in self._lower(container_id)]
        if not lowers:
            lowers = [str(path / "empty")]
        upper, work = str(path / "diff"), str(path / "work")
        opts = [f"lowerdir={':'.join(lowers)}", f"upperdir={upper}", f"workdir={work}", *self._extra]
        return Mount("overlay", "overlay", opts, lowers, upper, work)

    def remove(self, container_id: str) -> None:
        self._remove_dir(container_id)

    def diff_size(self, container_id: str) -> int:
        return dir_size(str(self.home / container_id / "diff"))

    def diff(self, container_id: str, out: BinaryIO) -> None:
        """The container's changes as a Docker layer tar (whiteouts converted)."""
        write_tree(str(self.home / container_id / "diff"), out, overlay_whiteouts=True)

    def merged_dir(self, id: str) -> str:
        return str(self.home / id / "merged")

    def metadata(self, id: str) -> dict[str, str]:
        """GraphDriver.Data as Docker shows it: real paths, not the l/ links."""
        path = self.home / id
        data = {"MergedDir": str(path / "merged"), "UpperDir": str(path / "diff"),
                "WorkDir": str(path / "work")}
        lowers = [os.path.normpath(self.links / os.readlink(self.home / p)) for p in self._lower(id)]
        if lowers:
            data["LowerDir"] = ":".join(lowers)
        return data

    def known_ids(self) -> set[str]:
        return {p.name for p in self.home.iterdir() if p.name not in ("l", "tmp")}

    def clean_tmp(self) -> None:
        rmtree(self.tmp)
        self.tmp.mkdir(exist_ok=True)

    # -- helpers ------------------------------------------------------------------
    def _write_links(self, path: Path, id: str, parent: str | None) -> None:
        short = base64.b32encode(os.urandom(10)).decode().rstrip("=")  # 16 chars, 80 random bits
        os.symlink(f"../{id}/diff", self.links / short)
        (path / "link").write_text(short)
        if parent is not None:
            lower = [f"l/{(self.home / parent / 'link').read_text()}", *self._lower(parent)]
            (path / "lower").write_text(":".join(lower))

    def _lower(self, id: str) -> list[str]:
        try:
            text = (self.home / id / "lower").read_text()
        except FileNotFoundError:
            return []
        return [p for p in text.split(":") if p]

    def _remove_dir(self, id: str) -> None:
        path = self.home / id
        try:
            short = (path / "link").read_text()
            (self.links / short).unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        # Rename first so a crash mid-delete never leaves a half layer under its real name.
        if path.exists():
            doomed = self.tmp / f"rm-{uuid.uuid4().hex}"
            os.rename(path, doomed)
            rmtree(doomed)

