"""Container records in SQLite, with an in-memory index by id and name."""
from __future__ import annotations

import json
import threading

from ..errors import Conflict, InvalidParameter, NotFound
from ..store.db import Database
from .model import Container

_MIGRATIONS = [
    "CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, data TEXT NOT NULL)",
]


class ContainerStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate("containers", _MIGRATIONS)
        self._lock = threading.Lock()
        self._by_id: dict[str, Container] = {}
        for row in db.query("SELECT data FROM containers"):
            c = Container.from_record(json.loads(row["data"]))
            self._by_id[c.id] = c

    def all(self) -> list[Container]:
        with self._lock:
            return list(self._by_id.values())

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._by_id)

    def names(self) -> set[str]:
        with self._lock:
            return {c.name for c in self._by_id.values()}

    def add(self, c: Container) -> None:
        with self._lock:
            holder = self._by_name(c.name)
            if holder is not None:
                raise Conflict(
                    f'Conflict. The container name "/{c.name}" is already in use by container '
                    f'"{holder.id}". You have to remove (or rename) that container to be able to reuse that name.')
            with self._db.transaction() as cur:
                cur.execute("INSERT INTO containers(id, name, data) VALUES (?, ?, ?)",
                            (c.id, c.name, json.dumps(c.to_record())))
            self._by_id[c.id] = c

    def save(self, c: Container) -> None:
        with self._lock, self._db.transaction() as cur:
            cur.execute("UPDATE containers SET name=?, data=? WHERE id=?",
                        (c.name, json.dumps(c.to_record()), c.id))

    def remove(self, c: Container) -> None:
        with self._lock:
            with self._db.transaction() as cur:
                cur.execute("DELETE FROM containers WHERE id=?", (c.id,))
            self._by_id.pop(c.id, None)

    def _by_name(self, name: str) -> Container | None:
        return next((c for c in self._by_id.values() if c.name == name), None)

    def get(self, ref: str) -> Container:
        """Find by full id, name, or unique id prefix, as Docker does."""
        if not ref:
            raise NotFound("No such container: ")
        with self._lock:
            if ref in self._by_id:
                return self._by_id[ref]
            c = self._by_name(ref.lstrip("/"))
            if c is not None:
                return c
            matches = [c for cid, c in self._by_id.items() if cid.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")
