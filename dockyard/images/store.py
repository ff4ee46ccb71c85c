"""Image metadata in SQLite (images, references, layers, container layers) plus layer commit and GC."""
from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
import json
import re
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from ..content import ContentStore, Writer
from ..errors import InvalidParameter
from ..snapshots import Driver, PendingLayer, new_driver
from ..snapshots.limits import DEFAULT as DEFAULT_LIMITS, UnpackLimits
from ..snapshots.streams import HashReader, TeeReader, decompressed
from ..store.db import Database
from ..timefmt import rfc3339

log = logging.getLogger(__name__)

MIGRATIONS = [
    """
    CREATE TABLE image_layers (chain_id TEXT PRIMARY KEY, parent TEXT, diff_id TEXT NOT NULL,
        blob TEXT, media TEXT NOT NULL, tar_size INTEGER NOT NULL, size INTEGER NOT NULL);
    CREATE INDEX image_layers_parent ON image_layers(parent);
    CREATE TABLE images (id TEXT PRIMARY KEY, parent TEXT NOT NULL DEFAULT '', top_layer TEXT,
        created INTEGER NOT NULL, size INTEGER NOT NULL, last_tag_time TEXT);
    CREATE INDEX images_top ON images(top_layer);
    CREATE INDEX images_parent ON images(parent);
    CREATE TABLE image_refs (ref TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES images(id)
        ON DELETE CASCADE, is_digest INTEGER NOT NULL);
    CREATE INDEX image_refs_image ON image_refs(image_id);
    CREATE TABLE image_rwlayers (container_id TEXT PRIMARY KEY, image_id TEXT NOT NULL,
        chain_id TEXT)
    """,
]
ZERO_TIME = "0001-01-01T00:00:00Z"


def chain_id(parent: str | None, diff_id: str) -> str:
    """The OCI ChainID: diffID for the base layer, else sha256(parent + " " + diffID)."""
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


def hexof(digest: str) -> str:
    return digest.split(":", 1)[-1]


def parse_time(value: str | None) -> int:
    """Unix seconds of an RFC 3339 time as image configs write it (nanoseconds allowed)."""
    if not value:
        return 0
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value)
    if not m:
        return 0
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return int(datetime.fromisoformat(m.group(1) + tz).timestamp())


def now_rfc3339() -> str:
    return rfc3339()


@dataclass
class NewLayer:
    """A layer read from an input: either unpacked and pending, or already stored (leased)."""

    chain_id: str
    parent: str | None
    diff_id: str
    tar_size: int
    size: int
    media: str
    pending: PendingLayer | None
    writer: Writer | None


class ImageStore:
    """The stores an image service composes, and the one lock that orders commits against GC.

    Unpacking runs outside the lock (it is slow); only commit, tag and delete take it. A
    layer found already stored is leased so a concurrent delete cannot remove it meanwhile.
    """

    def __init__(self, db: Database, data_root: Path, driver: str | Driver = "overlay",
                 limits: UnpackLimits = DEFAULT_LIMITS) -> None:
        self.db = db
        self.limits = limits  # what one layer may unpack to (decompression bombs)
        self.data_root = Path(data_root)
        self.content = ContentStore(self.data_root / "content")
        # a name is taken as given; the daemon passes the driver snapshots.select() chose
        self.driver: Driver = new_driver(driver, self.data_root) if isinstance(driver, str) else driver
        self.lock = threading.RLock()
        self.leases: Counter[str] = Counter()
        db.migrate("images", MIGRATIONS)
        self.tmp = self.data_root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def recover(self) -> None:
        """At start-up: drop unfinished ingests/unpacks and layer dirs no row refers to.

        Nothing here may stop the daemon from starting: what cannot be removed is logged and
        left for the next start (its content came from containers and images, not from us).
        """
        for step in (self.content.clean_ingests, self.driver.clean_tmp):
            try:
                step()
            except Exception:
                log.exception("start-up clean-up: %s failed", step.__name__)
        known = {hexof(r["chain_id"]) for r in self.db.query("SELECT chain_id FROM image_layers")}
        known |= {r["container_id"] for r in self.db.query("SELECT container_id FROM image_rwlayers")}
        for orphan in self.driver.known_ids() - known:
            try:
                self.driver.remove_layer(orphan)
            except Exception:
                log.exception("start-up clean-up: cannot remove the orphan layer %s", orphan)

    # -- layers ---------------------------------------------------------------------
    def read_layer(self, stream: BinaryIO, parent: str | None, expected: str | None = None) -> NewLayer:
        """Unpack one layer from `stream` (or, if `expected` is already stored, just verify it)."""
        if expected is not None:
            cid = chain_id(parent, expected)
            leased = False
            with self.lock:
                row = self.layer(cid)
                if row is not None and self.driver.has_layer(hexof(cid)):
                    self.leases[cid] += 1
                    leased = True
            if row is not None and leased:
                try:
                    plain, _media = decompressed(stream, self.limits.meter("layer"))
                    hashed = HashReader(plain)
                    hashed.drain()
                except BaseException as e:
                    self.release([cid])
                    if not isinstance(e, (OSError, EOFError)):
                        raise
                    raise InvalidParameter(f"invalid tar: {e}") from None
                if hashed.digest != expected:
                    self.release([cid])
                    raise InvalidParameter(f"layer digest mismatch: expected {expected}, got {hashed.digest}")
                return NewLayer(cid, parent, expected, row["tar_size"], row["size"], row["media"], None, None)
        writer = self.content.writer()
        pending = self.driver.begin_layer(hexof(parent) if parent else None)
        try:
            res = self.driver.apply(pending, TeeReader(stream, writer), self.limits)
            writer.finish()
            if expected is not None and res.diff_id != expected:
                raise InvalidParameter(f"layer digest mismatch: expected {expected}, got {res.diff_id}")
        except BaseException:
            self.driver.discard(pending)
            writer.abort()
            raise
        return NewLayer(chain_id(parent, res.diff_id), parent, res.diff_id, res.tar_size, res.size,
                        res.media, pending, writer)

    def discard(self, layers: list[NewLayer]) -> None:
        for nl in layers:
            if nl.pending is not None:
                self.driver.discard(nl.pending)
            if nl.writer is not None:
                nl.writer.abort()
        self.release([nl.chain_id for nl in layers if nl.pending is None])

    def release(self, chain_ids: list[str]) -> None:
        with self.lock:
            for cid in chain_ids:
                self.leases[cid] -= 1
                if self.leases[cid] <= 0:
                    del self.leases[cid]

    def commit_layers(self, layers: list[NewLayer]) -> None:
        """Publish pending layers (call with `lock` held); an existing copy wins, new one dropped."""
        for nl in layers:
            if nl.pending is None or nl.writer is None:
                continue
            row = self.layer(nl.chain_id)
            if row is not None and self.driver.has_layer(hexof(nl.chain_id)):
                self.driver.discard(nl.pending)
                nl.writer.abort()
                continue
            blob = nl.writer.commit()
            self.driver.commit_layer(nl.pending, hexof(nl.chain_id))
            with self.db.transaction() as cur:
                cur.execute("INSERT OR REPLACE INTO image_layers VALUES (?,?,?,?,?,?,?)",
                            (nl.chain_id, nl.parent, nl.diff_id, blob, nl.media, nl.tar_size, nl.size))

    def layer(self, cid: str) -> dict | None:
        row = self.db.query_one("SELECT * FROM image_layers WHERE chain_id=?", (cid,))
        return dict(row) if row else None

    def chain(self, top: str | None) -> list[dict]:
        """Layers from the base up to `top`."""
        out: list[dict] = []
        while top:
            row = self.layer(top)
            if row is None:
                break
            out.append(row)
            top = row["parent"]
        return out[::-1]

    def layer_in_use(self, cid: str) -> bool:
        return bool(self.leases.get(cid)) or any(
            self.db.query_one(sql, (cid,)) for sql in (
                "SELECT 1 FROM images WHERE top_layer=?",
                "SELECT 1 FROM image_layers WHERE parent=?",
                "SELECT 1 FROM image_rwlayers WHERE chain_id=?"))

    def gc_layers(self, top: str | None) -> list[str]:
        """Delete `top` and its ancestors while nothing uses them (call with `lock` held)."""
        removed: list[str] = []
        while top and not self.layer_in_use(top):
            row = self.layer(top)
            if row is None:
                break
            with self.db.transaction() as cur:
                cur.execute("DELETE FROM image_layers WHERE chain_id=?", (top,))
            self.driver.remove_layer(hexof(top))
            if row["blob"] and not self.db.query_one("SELECT 1 FROM image_layers WHERE blob=?", (row["blob"],)):
                self.content.delete(row["blob"])
            removed.append(top)
            top = row["parent"]
        return removed

    # -- images and references ----------------------------------------------------------
    def image(self, image_id: str) -> dict | None:
        row = self.db.query_one("SELECT * FROM images WHERE id=?", (image_id,))
        return dict(row) if row else None

    def refs_of(self, image_id: str) -> list[str]:
        return [r["ref"] for r in self.db.query("SELECT ref FROM image_refs WHERE image_id=? ORDER BY ref",
                                                (image_id,))]

    def ref_target(self, ref: str) -> str | None:
        row = self.db.query_one("SELECT image_id FROM image_refs WHERE ref=?", (ref,))
        return row["image_id"] if row else None

    def set_ref(self, cur: object, ref: str, image_id: str, is_digest: bool = False) -> str | None:
        """Point `ref` at `image_id` (inside a transaction); returns the image it moved from."""
        old = self.ref_target(ref)
        cur.execute("INSERT OR REPLACE INTO image_refs VALUES (?,?,?)", (ref, image_id, int(is_digest)))  # type: ignore[attr-defined]
        if not is_digest:
            cur.execute("UPDATE images SET last_tag_time=? WHERE id=?", (now_rfc3339(), image_id))  # type: ignore[attr-defined]
        return old if old != image_id else None

    def add_image(self, config: bytes, top: str | None, parent: str = "") -> str:
        """Store the config blob and the image row (call with `lock` held); returns the ID."""
        image_id = self.content.put(config)
        if self.image(image_id) is None:
            created = parse_time(json.loads(config).get("created"))
            size = sum(layer["size"] for layer in self.chain(top))
            with self.db.transaction() as cur:
                cur.execute("INSERT INTO images VALUES (?,?,?,?,?,NULL)", (image_id, parent, top, created, size))
        return image_id

    def config_bytes(self, image_id: str) -> bytes:
        return self.content.read(image_id)

    @contextmanager
    def layer_stream(self, row: dict) -> Iterator[object]:
        """The uncompressed tar of a stored layer, as first received (so its diffID holds)."""
        with self.content.open(row["blob"]) as f:
            plain, _media = decompressed(f)
            yield plain
