"""The daemon's event bus: services publish, `GET /events` subscribers receive."""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any


class EventBus:
    """Keeps recent events for `since` queries and fans new ones out to subscribers."""

    def __init__(self, keep: int = 1000) -> None:
        self._recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str]) -> None:
        ns = time.time_ns()
        event: dict[str, Any] = {
            "Type": type_, "Action": action,
            "Actor": {"ID": actor_id, "Attributes": attributes},
            "scope": "local", "time": ns // 1_000_000_000, "timeNano": ns,
        }
        if type_ == "container" or type_ == "image":
            # legacy fields that older clients (and docker-compose v1) still read
            event["status"] = action
            event["id"] = actor_id
            if "image" in attributes:
                event["from"] = attributes["image"]
        self._recent.append(event)
        for q in list(self._subscribers):
            q.put_nowait(event)

    def recent(self) -> list[dict[str, Any]]:
        return list(self._recent)

    def subscribe(self) -> "asyncio.Queue[dict[str, Any]]":
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: "asyncio.Queue[dict[str, Any]]") -> None:
        self._subscribers.discard(q)
