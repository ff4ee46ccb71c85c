"""The container records every container service shares: the store, a lock per container, events."""
from __future__ import annotations

import asyncio
from typing import Protocol

from . import mounts as mountslib
from .model import Container
from .store import ContainerStore


class Events(Protocol):
    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None: ...


class ContainerRecords:
    """What lifecycle, exec, health, files and live operations all need, and nothing more.

    A state change happens under `lock(id)`, is saved with `save`, and is told with `event`.
    """

    def __init__(self, store: ContainerStore, events: Events) -> None:
        self.store = store
        self.events = events
        self._locks: dict[str, asyncio.Lock] = {}

    def get(self, ref: str) -> Container:
        return self.store.get(ref)

    def all(self) -> list[Container]:
        return self.store.all()

    def exists(self, c: Container) -> bool:
        return c.id in self.store.ids()

    def save(self, c: Container) -> None:
        self.store.save(c)

    def lock(self, cid: str) -> asyncio.Lock:
        return self._locks.setdefault(cid, asyncio.Lock())

    def forget_lock(self, cid: str) -> None:
        self._locks.pop(cid, None)

    def event(self, c: Container, action: str, **extra: str) -> None:
        self.events.publish("container", action, c.id,
                            {"image": c.image, "name": c.name, **(c.config.get("Labels") or {}), **extra})

    def volume_users(self, name: str) -> list[str]:
        """Ids of the containers (running or not) that reference the volume `name`."""
        return [c.id for c in self.store.all() if name in mountslib.volume_names(c)]
