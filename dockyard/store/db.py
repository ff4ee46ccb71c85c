"""SQLite metadata database: one file, WAL mode, per-component schema migrations."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence


class Database:
    """A thread-safe SQLite connection. Writes happen inside `transaction()`.

    The daemon calls it from worker threads, so one connection is shared under a lock
    (SQLite serialises writers anyway; WAL lets readers in other processes proceed).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (component TEXT PRIMARY KEY, version INTEGER)"
        )

    def migrate(self, component: str, steps: Sequence[str]) -> None:
        """Apply the steps of `component` that have not run yet; step i brings it to version i+1."""
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT version FROM schema_version WHERE component=?", (component,)
            ).fetchone()
            current = row[0] if row else 0
            for step in steps[current:]:
                for stmt in (s for s in step.split(";") if s.strip()):
                    cur.execute(stmt)
            cur.execute(
                "INSERT OR REPLACE INTO schema_version(component, version) VALUES (?, ?)",
                (component, len(steps)),
            )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
