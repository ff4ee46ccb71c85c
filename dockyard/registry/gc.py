"""Garbage collection: mark every blob a manifest or tag keeps alive, sweep the rest.

Mark: in every repository, each manifest revision (and with --delete-untagged only those
reachable from a tag, through index children and referrers) marks itself, its config, layers,
index children and subject. Sweep: blobs not marked are deleted, and so are repository links to
blobs that no longer exist and upload sessions older than a week.

Concurrency: GC holds `<root>/gc.lock` exclusively (see locking.py), so no write request of a
running server interleaves with it; and blobs written less than `grace` seconds ago (default one
hour) are kept even when unreferenced, so the layers of a push whose manifest has not arrived yet
survive. A push stalled longer than the grace period between its blob and manifest uploads gets
MANIFEST_BLOB_UNKNOWN and must push again; it never leaves a manifest with missing blobs.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from . import manifests as mf
from .locking import exclusive
from .storage.base import Storage
from .store import RegistryStore, blob_key, digest_from_blob_key, revision_key

UPLOAD_MAX_AGE = 7 * 24 * 3600


@dataclass
class Report:
    marked: int = 0
    swept: list[str] = field(default_factory=list)
    freed: int = 0
    kept_recent: int = 0
    manifests_removed: list[str] = field(default_factory=list)
    links_removed: int = 0
    uploads_purged: int = 0


def _reachable_from_tags(store: RegistryStore, name: str) -> set[str]:
    keep: set[str] = set()
    todo = [d for d in (store.resolve(name, t) for t in store.tags(name) or []) if d]
    while todo:
        digest = todo.pop()
        if digest in keep:
            continue
        keep.add(digest)
        raw = store.storage.get(blob_key(digest))
        if raw:
            todo += [d for d in mf.references(raw) if store.manifest_info(name, d) is not None]
        todo += [r["digest"] for r in store.referrers(name, digest)]  # referrers follow their subject
    return keep


def collect(storage: Storage, root: str, *, grace: float = 3600.0, dry_run: bool = False,
            delete_untagged: bool = False, uploads: object | None = None) -> Report:
    store = RegistryStore(storage)
    report = Report()
    lock = exclusive(root)
    try:
        marked: set[str] = set()
        for name in store.repositories():
            keep = _reachable_from_tags(store, name) if delete_untagged else None
            for digest in store.revisions(name):
                if keep is not None and digest not in keep:
                    report.manifests_removed.append(f"{name}@{digest}")
                    if not dry_run:
                        store.delete_manifest(name, digest)
                    continue
                marked.add(digest)
                raw = storage.get(blob_key(digest))
                if raw:
                    marked.update(mf.references(raw))
        report.marked = len(marked)
        now = time.time()
        gone: set[str] = set()
        for key, stat in list(storage.walk("blobs")):
            blob = digest_from_blob_key(key)
            if blob is None or blob in marked:
                continue
            if now - stat.mtime < grace:
                report.kept_recent += 1
                continue
            report.swept.append(blob)
            report.freed += stat.size
            gone.add(blob)
            if not dry_run:
                storage.delete(key)
        if not dry_run:
            for name in store.repositories() + _layer_only_repos(store):
                for digest in store.layer_links(name):
                    if digest in gone or storage.stat(blob_key(digest)) is None:
                        store.unlink_blob(name, digest)
                        report.links_removed += 1
                for digest in store.revisions(name):
                    if storage.stat(blob_key(digest)) is None:  # cannot be served any more
                        storage.delete(revision_key(name, digest))
            purge = getattr(uploads, "purge", None)
            if purge is not None:
                report.uploads_purged = purge(now - UPLOAD_MAX_AGE)
    finally:
        os.close(lock)
    return report


def _layer_only_repos(store: RegistryStore) -> list[str]:
    """Repositories with blob links but no manifest yet (a push in progress or abandoned)."""
    found: list[str] = []

    def visit(path: str, name: str) -> None:
        children = store.storage.list(path)
        if "_layers" in children and "_manifests" not in children:
            found.append(name)
        for child in children:
            if not child.startswith("_"):
                visit(f"{path}/{child}", f"{name}/{child}" if name else child)

    visit("repositories", "")
    return found
