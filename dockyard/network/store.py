"""Networks and endpoints in SQLite: what survives a daemon restart (and what to clean up after one)."""
from __future__ import annotations

import json

from ..store.db import Database
from .model import Endpoint, Network

_MIGRATIONS = [
    """CREATE TABLE networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
       CREATE TABLE endpoints (id TEXT PRIMARY KEY, network_id TEXT NOT NULL,
                               container_id TEXT NOT NULL, ip TEXT NOT NULL, data TEXT NOT NULL);
       CREATE UNIQUE INDEX endpoints_ip ON endpoints(network_id, ip) WHERE ip != '';
       CREATE TABLE published (container_id TEXT PRIMARY KEY, data TEXT NOT NULL)""",
]


class NetworkStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("networks", _MIGRATIONS)

    # networks
    def networks(self) -> list[Network]:
        return [Network.from_record(json.loads(r["data"]))
                for r in self.db.query("SELECT data FROM networks ORDER BY name")]

    def add_network(self, n: Network) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO networks(id, name, data) VALUES (?, ?, ?)",
                        (n.id, n.name, json.dumps(n.to_record())))

    def remove_network(self, n: Network) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM networks WHERE id=?", (n.id,))

    # endpoints
    def endpoints(self) -> list[Endpoint]:
        return [Endpoint.from_record(json.loads(r["data"]))
                for r in self.db.query("SELECT data FROM endpoints ORDER BY rowid")]

    def add_endpoint(self, e: Endpoint) -> None:
        """The unique index makes a double allocation of an address impossible."""
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO endpoints(id, network_id, container_id, ip, data) VALUES (?,?,?,?,?)",
                        (e.id, e.network_id, e.container_id, e.ip, json.dumps(e.to_record())))

    def remove_endpoint(self, e: Endpoint) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM endpoints WHERE id=?", (e.id,))

    # published ports (kept so a restarted daemon rebuilds rules and proxies)
    def published(self) -> dict[str, list[dict]]:
        return {r["container_id"]: json.loads(r["data"])
                for r in self.db.query("SELECT container_id, data FROM published")}

    def set_published(self, container_id: str, data: list[dict] | None) -> None:
        with self.db.transaction() as cur:
            if data:
                cur.execute("INSERT OR REPLACE INTO published(container_id, data) VALUES (?, ?)",
                            (container_id, json.dumps(data)))
            else:
                cur.execute("DELETE FROM published WHERE container_id=?", (container_id,))
