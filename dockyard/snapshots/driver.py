"""The storage-driver seam: the Driver protocol, mount descriptions and pending layers."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from ..linux import fstree
from .apply import ApplyResult
from .limits import UnpackLimits
from .streams import TeeReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mount:
    """What to mount for a rootfs; snapshotters describe it, `mounter` performs it."""

    type: str                      # "overlay" or "bind"
    source: str
    options: list[str]
    lowerdirs: list[str] = field(default_factory=list)
    upperdir: str = ""
    workdir: str = ""


@dataclass
class PendingLayer:
    """A layer unpacked into a private temp dir, not yet visible under its chain ID."""

    path: Path                     # the temp layer dir; its content is in path/"diff"
    parent: str | None
    result: ApplyResult | None = None


class Driver(Protocol):
    """A storage driver. Layers are keyed by chain ID (hex), container layers by container ID."""

    name: str          # the name shown in GraphDriver.Name and info's Driver
    aliases: tuple[str, ...]  # other names --storage-driver accepts for it

    def status(self) -> list[list[str]]:
        """info's DriverStatus pairs."""

    def begin_layer(self, parent: str | None) -> PendingLayer: ...
    def apply(self, pending: PendingLayer, stream: BinaryIO | TeeReader,
              limits: UnpackLimits = ...) -> ApplyResult: ...
    def commit_layer(self, pending: PendingLayer, chain_id: str) -> bool: ...
    def discard(self, pending: PendingLayer) -> None: ...
    def has_layer(self, chain_id: str) -> bool: ...
    def remove_layer(self, chain_id: str) -> None: ...
    def layer_size(self, chain_id: str) -> int: ...
    def prepare(self, container_id: str, parent: str | None) -> Mount: ...
    def mounts(self, container_id: str) -> Mount: ...
    def remove(self, container_id: str) -> None: ...
    def diff_size(self, container_id: str) -> int: ...
    def diff(self, container_id: str, out: BinaryIO) -> None: ...
    def metadata(self, id: str) -> dict[str, str]: ...
    def known_ids(self) -> set[str]: ...
    def merged_dir(self, id: str) -> str: ...
    def clean_tmp(self) -> None: ...


def dir_size(path: str) -> int:
    """Bytes of regular files under `path` (hardlinks counted once), like Docker's directory.Size."""
    return fstree.tree_size(path)


def rmtree(path: Path | str) -> None:
    """Remove a layer dir, at any depth; tolerate it being gone already (removal is idempotent).

    A failure is logged, not raised: what is left sits under the driver's tmp dir, which the
    next start-up clears again.
    """
    try:
        fstree.remove_tree(path)
    except OSError as e:
        log.error("cannot remove %s: %s", path, e)

