"""Every storage driver built in, from this one list, and the choice among them at daemon start.

`--storage-driver`/`-s` or daemon.json `storage-driver` names one; without a name the driver
that already holds layers in the data root is kept (Docker's "prior driver"), else overlay2
where overlayfs can be mounted on the data root, else vfs (overlay on overlay, for one), with a
log line saying why.
"""
from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Callable

from ..errors import InvalidParameter
from . import mounter
from .driver import Driver, Mount
from .overlay import OverlayDriver
from .vfs import VfsDriver

log = logging.getLogger("dockyard.snapshots")

# name -> factory; the first is the preferred default.
BUILTIN: tuple[tuple[str, tuple[str, ...], Callable[[Path], Driver]], ...] = (
    (OverlayDriver.name, OverlayDriver.aliases, OverlayDriver),
    (VfsDriver.name, VfsDriver.aliases, VfsDriver),
)


def names() -> list[str]:
    """The registered drivers' names, for info and errors."""
    return [name for name, _aliases, _factory in BUILTIN]


def canonical(name: str) -> str:
    """The driver's own name for `name` or one of its aliases; InvalidParameter if none has it."""
    for own, aliases, _factory in BUILTIN:
        if name == own or name in aliases:
            return own
    raise InvalidParameter(f"error initializing graphdriver: driver not supported: {name} "
                           f"(known: {', '.join(names())})")


def new_driver(name: str, data_root: Path) -> Driver:
    """The driver called `name` (or an alias: "overlay") rooted in `data_root`."""
    own = canonical(name)
    for candidate, _aliases, factory in BUILTIN:
        if candidate == own:
            return factory(Path(data_root))
    raise AssertionError(own)


def select(requested: str, data_root: Path) -> Driver:
    """The driver to run with: `requested` if given, else the prior one, else the best that works."""
    if requested:
        driver = new_driver(requested, data_root)
        if driver.name == OverlayDriver.name and not overlay_mountable(Path(data_root)):
            raise InvalidParameter(f"error initializing graphdriver: driver not supported: overlayfs "
                                   f"cannot be mounted on {data_root} (overlay on overlay?); use vfs")
        return driver
    prior = _prior_driver(Path(data_root))
    if prior:
        return new_driver(prior, data_root)
    if overlay_mountable(Path(data_root)):
        return new_driver(OverlayDriver.name, data_root)
    log.warning("storage driver: overlayfs cannot be mounted on %s (overlay on overlay, or no overlay "
                "module); falling back to vfs, which copies every layer in full", data_root)
    return new_driver(VfsDriver.name, data_root)


def _prior_driver(data_root: Path) -> str | None:
    """The driver whose layer directory under data_root already holds layers, if exactly one does."""
    found = []
    if any(p.name not in ("l", "tmp") for p in _entries(data_root / "overlay")):
        found.append(OverlayDriver.name)
    if _entries(data_root / "vfs" / "dir"):
        found.append(VfsDriver.name)
    if len(found) > 1:
        raise InvalidParameter(f"{data_root} holds layers of several storage drivers ({', '.join(found)}): "
                               "choose one with --storage-driver")
    return found[0] if found else None


def _entries(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except FileNotFoundError:
        return []


def overlay_mountable(data_root: Path) -> bool:
    """Whether an overlay with its dirs on data_root's file system mounts here (tried, then undone)."""
    probe = data_root / f"overlay-probe-{uuid.uuid4().hex[:12]}"
    dirs = {d: probe / d for d in ("lower", "upper", "work", "merged")}
    try:
        for d in dirs.values():
            d.mkdir(parents=True)
        options = [f"lowerdir={dirs['lower']}", f"upperdir={dirs['upper']}", f"workdir={dirs['work']}"]
        mounter.mount(Mount("overlay", "overlay", options), str(dirs["merged"]))
        mounter.unmount(str(dirs["merged"]))
        return True
    except OSError as e:
        log.debug("overlay probe on %s: %s", data_root, e)
        return False
    finally:
        if not mounter.sysmount.is_mountpoint(str(dirs["merged"])):  # never delete through a mount
            shutil.rmtree(probe, ignore_errors=True)
