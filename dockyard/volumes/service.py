"""Volumes: create (idempotent by name), inspect, list with filters, remove (not while in use),
prune, and mount/unmount for containers through the volume's driver."""
from __future__ import annotations

import builtins
import logging
import re
import secrets
import threading
from typing import Any, Callable, Mapping, Protocol

from .. import errors
from ..timefmt import rfc3339
from .driver import VolumeDriver
from .store import Volume, VolumeStore

log = logging.getLogger("dockyard.volumes")

NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


class Events(Protocol):
    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None: ...


def _truthy(value: str) -> bool | None:
    v = value.lower()
    return True if v in ("1", "true") else False if v in ("0", "false") else None


class VolumeService:
    def __init__(self, store: VolumeStore, drivers: Mapping[str, VolumeDriver], events: Events,
                 users: Callable[[str], list[str]] | None = None) -> None:
        """`users(name)` lists the ids of containers that reference a volume (set by assembly)."""
        self.store = store
        self.drivers = drivers
        self.events = events
        self.users: Callable[[str], list[str]] = users or (lambda name: [])
        self._lock = threading.Lock()
        # (volume, container) pairs mounted now: each gets one driver Unmount (Docker's refcount)
        self._mounted: set[tuple[str, str]] = set()

    def _driver(self, name: str) -> VolumeDriver:
        driver = self.drivers.get(name or "local")
        if driver is None:
            raise errors.NotFound(f"error looking up volume plugin {name}: plugin \"{name}\" not found")
        return driver

    def _fill(self, v: Volume) -> Volume:
        try:
            v.mountpoint = self._driver(v.driver).mountpoint(v.name)
        except errors.SystemFailure as e:  # a plugin that is down must not hide the other volumes
            log.warning("volume %s: %s", v.name, e.message)
            v.mountpoint = ""
        return v

    def _adopt_listed(self) -> None:
        """Volumes a driver reports (a plugin's List) that the store does not know yet."""
        for drv in list(self.drivers.values()):
            lister = getattr(drv, "list_volumes", None)
            if lister is None:
                continue
            try:
                listed = lister()
            except errors.DockyardError as e:
                log.warning("list volumes of driver %s: %s", drv.name, e.message)
                continue
            for name, _mountpoint in listed:
                if NAME_RE.match(name) and self.store.get(name) is None:
                    self.store.add(Volume(name=name, driver=drv.name, created=rfc3339()))

    # create / inspect / list -----------------------------------------------------------
    def create(self, name: str | None, driver: str | None = None, options: dict[str, str] | None = None,
               labels: dict[str, str] | None = None, anonymous: bool = False) -> Volume:
        name = name or secrets.token_hex(32)
        if not NAME_RE.match(name):
            raise errors.InvalidParameter(
                f'create {name}: "{name}" includes invalid characters for a local volume name, '
                'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                "directory, use absolute path")
        for what, obj in (("DriverOpts", options), ("Labels", labels)):
            if obj is not None and (not isinstance(obj, dict) or
                                    not all(isinstance(x, str) for x in obj.values())):
                raise errors.InvalidParameter(f"json: cannot unmarshal into {what} of type map[string]string")
        drv = self._driver(driver or "local")
        with self._lock:
            existing = self.store.get(name)
            if existing is not None:
                if driver and existing.driver != driver:
                    raise errors.Conflict(f"create {name}: volume name must be unique")
                return self._fill(existing)
            drv.validate(options or {})
            v = Volume(name=name, driver=drv.name, created=rfc3339(), anonymous=anonymous,
                       options=dict(options or {}), labels=dict(labels or {}))
            v.mountpoint = drv.create(name, v.options)
            try:
                self.store.add(v)
            except BaseException:
                drv.remove(name)
                raise
        self.events.publish("volume", "create", name, {"driver": drv.name})
        return v

    def get(self, name: str) -> Volume:
        v = self.store.get(name)
        if v is None:
            raise errors.NotFound(f"get {name}: no such volume")
        return self._fill(v)

    def list(self, filters: dict[str, Any]) -> list[Volume]:
        self._adopt_listed()
        out = []
        for v in self.store.all():
            if self._match(v, filters):
                out.append(self._fill(v))
        return out

    def _match(self, v: Volume, filters: dict[str, Any]) -> bool:
        for key, raw in filters.items():
            values = list(raw.keys()) if isinstance(raw, dict) else list(raw) \
                if isinstance(raw, list) else [str(raw)]
            if key == "dangling":
                wanted = {_truthy(x) for x in values}
                if None in wanted:
                    raise errors.InvalidParameter(f"Invalid filter 'dangling={values[0]}'")
                if not any(w == (not self.users(v.name)) for w in wanted):
                    return False
            elif key == "name":
                if not any(x in v.name for x in values):
                    return False
            elif key == "driver":
                if v.driver not in values:
                    return False
            elif key in ("label", "label!"):
                hit = all(_label_match(v.labels, x) for x in values)
                if hit != (key == "label"):
                    if key == "label" or any(_label_match(v.labels, x) for x in values):
                        return False
            else:
                raise errors.InvalidParameter(f"Invalid filter '{key}'")
        return True

    # remove / prune --------------------------------------------------------------------
    def remove(self, name: str, force: bool = False) -> None:
        v = self.store.get(name)
        if v is None:
            if force:
                return
            raise errors.NotFound(f"get {name}: no such volume")
        with self._lock:
            users = self.users(name)
            if users:
                raise errors.Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self._driver(v.driver).remove(name)
            self.store.remove(name)
        self.events.publish("volume", "destroy", name, {"driver": v.driver})

    def prune(self, filters: dict[str, Any]) -> tuple[builtins.list[str], int]:
        """API 1.41: every unused local volume, named or not (label / label! filters apply)."""
        bad = set(filters) - {"label", "label!"}
        if bad:
            raise errors.InvalidParameter(f"Invalid filter '{sorted(bad)[0]}'")
        deleted, reclaimed = [], 0
        for v in self.list(filters):
            if self.users(v.name):
                continue
            size = max(self._driver(v.driver).usage(v.name), 0)
            try:
                self.remove(v.name)
            except errors.Conflict:
                continue
            deleted.append(v.name)
            reclaimed += size
        return deleted, reclaimed

    def usage(self, name: str) -> int:
        v = self.get(name)
        return self._driver(v.driver).usage(name)

    # containers ------------------------------------------------------------------------
    def mount(self, name: str, container_id: str) -> str:
        v = self.get(name)
        path = self._driver(v.driver).mount(name, v.options, container_id)
        self._mounted.add((name, container_id))
        return path

    def unmount(self, name: str, container_id: str) -> None:
        v = self.store.get(name)
        if v is not None and (name, container_id) in self._mounted:
            self._mounted.discard((name, container_id))
            self._driver(v.driver).unmount(name, container_id)

    def adopt(self, name: str, container_id: str) -> None:
        self._mounted.add((name, container_id))
        v = self.store.get(name)
        drv = self.drivers.get(v.driver) if v else None
        if drv is not None and hasattr(drv, "adopt"):
            drv.adopt(name, container_id)


def _label_match(labels: dict[str, str], expr: str) -> bool:
    key, eq, value = expr.partition("=")
    return key in labels and (not eq or labels[key] == value)
