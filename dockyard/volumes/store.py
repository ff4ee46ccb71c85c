"""Volume records in SQLite: name, driver, options, labels, creation time, anonymous or named."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..store.db import Database

_MIGRATIONS = [
    "CREATE TABLE volumes (name TEXT PRIMARY KEY, driver TEXT NOT NULL, created TEXT NOT NULL,"
    " anonymous INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL, labels TEXT NOT NULL)",
]


@dataclass
class Volume:
    name: str
    driver: str
    created: str
    mountpoint: str = ""
    anonymous: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def to_api(self, usage: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "CreatedAt": self.created, "Driver": self.driver, "Labels": self.labels or {},
            "Mountpoint": self.mountpoint, "Name": self.name, "Options": self.options or None,
            "Scope": "local",
        }
        if usage is not None:
            data["UsageData"] = {"Size": usage, "RefCount": -1}
        return data


class VolumeStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate("volumes", _MIGRATIONS)

    def all(self) -> list[Volume]:
        return [self._row(r) for r in self._db.query("SELECT * FROM volumes ORDER BY name")]

    def get(self, name: str) -> Volume | None:
        row = self._db.query_one("SELECT * FROM volumes WHERE name=?", (name,))
        return self._row(row) if row else None

    def add(self, v: Volume) -> bool:
        """False when the name is taken already (the caller returns that volume instead)."""
        with self._db.transaction() as cur:
            if cur.execute("SELECT 1 FROM volumes WHERE name=?", (v.name,)).fetchone():
                return False
            cur.execute("INSERT INTO volumes(name, driver, created, anonymous, options, labels) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (v.name, v.driver, v.created, int(v.anonymous), json.dumps(v.options),
                         json.dumps(v.labels)))
        return True

    def remove(self, name: str) -> None:
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM volumes WHERE name=?", (name,))

    @staticmethod
    def _row(row: Any) -> Volume:
        return Volume(name=row["name"], driver=row["driver"], created=row["created"],
                      anonymous=bool(row["anonymous"]), options=json.loads(row["options"]),
                      labels=json.loads(row["labels"]))
