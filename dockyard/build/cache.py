"""The build cache: step key -> the image that step made, in SQLite; usage counts for df and prune.

A record dies with its image (ON DELETE CASCADE), so a hit never names a removed image; it
is written only after the step's image is committed, so a daemon killed mid-step leaves
no record of a half-built step.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

from ..store.db import Database

MIGRATIONS = [
    """
    CREATE TABLE build_cache (key TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        parent TEXT NOT NULL, description TEXT NOT NULL, created REAL NOT NULL,
        last_used REAL NOT NULL, usage_count INTEGER NOT NULL DEFAULT 1);
    CREATE INDEX build_cache_image ON build_cache(image_id);
    CREATE TABLE build_work (id TEXT PRIMARY KEY, kind TEXT NOT NULL, created REAL NOT NULL)
    """,
]


def step_key(parent: str | None, *parts: Any) -> str:
    """The identity of one step: the parent image and everything that decides its result."""
    raw = json.dumps([parent or "scratch", *parts], separators=(",", ":"), sort_keys=True)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class Record:
    key: str
    image_id: str
    parent: str
    description: str
    created: float
    last_used: float
    usage_count: int


class BuildCache:
    """Thread-safe (the database serialises)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("build", MIGRATIONS)

    def lookup(self, key: str) -> str | None:
        row = self.db.query_one("SELECT image_id FROM build_cache WHERE key=?", (key,))
        if row is None:
            return None
        with self.db.transaction() as cur:
            cur.execute("UPDATE build_cache SET last_used=?, usage_count=usage_count+1 WHERE key=?",
                        (time.time(), key))
        return str(row["image_id"])

    def store(self, key: str, image_id: str, parent: str | None, description: str) -> None:
        now = time.time()
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO build_cache VALUES (?,?,?,?,?,?,1)",
                        (key, image_id, parent or "", description, now, now))

    def records(self) -> list[Record]:
        return [Record(**dict(r)) for r in self.db.query("SELECT * FROM build_cache ORDER BY created")]

    def forget(self, keys: Iterable[str]) -> None:
        with self.db.transaction() as cur:
            for k in keys:
                cur.execute("DELETE FROM build_cache WHERE key=?", (k,))

    # -- work in progress: rw layers and containers a build holds, removed after a crash --------
    def begin_work(self, ident: str, kind: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO build_work VALUES (?,?,?)", (ident, kind, time.time()))

    def end_work(self, ident: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM build_work WHERE id=?", (ident,))

    def leftover_work(self) -> list[tuple[str, str]]:
        return [(r["id"], r["kind"]) for r in self.db.query("SELECT id, kind FROM build_work")]
