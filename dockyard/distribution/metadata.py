"""What the daemon remembers about registries: which blob digest carries which diffID and in
which repository it was seen (for skip-by-HEAD and cross-repository mounts), and pulled manifests."""
from __future__ import annotations

import time
from dataclasses import dataclass

from ..store.db import Database

MIGRATIONS = [
    """
    CREATE TABLE dist_blobs (diff_id TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
        size INTEGER NOT NULL, registry TEXT NOT NULL, repository TEXT NOT NULL, seen INTEGER NOT NULL,
        PRIMARY KEY (diff_id, digest, registry, repository));
    CREATE INDEX dist_blobs_digest ON dist_blobs(digest);
    CREATE TABLE dist_manifests (digest TEXT PRIMARY KEY, media_type TEXT NOT NULL, data BLOB NOT NULL,
        image_id TEXT NOT NULL, name TEXT NOT NULL)
    """,
]


@dataclass(frozen=True)
class BlobSource:
    diff_id: str
    digest: str
    media_type: str
    size: int
    registry: str
    repository: str


class Metadata:
    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("distribution", MIGRATIONS)

    def add(self, src: BlobSource) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO dist_blobs VALUES (?,?,?,?,?,?,?)",
                        (src.diff_id, src.digest, src.media_type, src.size, src.registry, src.repository,
                         int(time.time())))

    def sources(self, diff_id: str) -> list[BlobSource]:
        rows = self.db.query("SELECT * FROM dist_blobs WHERE diff_id=? ORDER BY seen DESC", (diff_id,))
        return [BlobSource(r["diff_id"], r["digest"], r["media_type"], r["size"], r["registry"],
                           r["repository"]) for r in rows]

    def add_manifest(self, digest: str, media_type: str, data: bytes, image_id: str, name: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("INSERT OR REPLACE INTO dist_manifests VALUES (?,?,?,?,?)",
                        (digest, media_type, data, image_id, name))
            # Manifests of images that are gone are not needed any more.
            cur.execute("DELETE FROM dist_manifests WHERE image_id NOT IN (SELECT id FROM images)")

    def manifest(self, digest: str) -> tuple[str, bytes] | None:
        row = self.db.query_one("SELECT media_type, data FROM dist_manifests WHERE digest=?", (digest,))
        return (row["media_type"], bytes(row["data"])) if row else None
