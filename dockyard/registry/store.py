"""The registry's data model over a `Storage`: blobs by digest, per-repository links, manifests, tags, referrers.

Layout (keys):
  blobs/<alg>/<hex[:2]>/<hex>                                the content, once for the whole registry
  repositories/<name>/_layers/<alg>/<hex>                    a blob is in a repository (link)
  repositories/<name>/_manifests/revisions/<alg>/<hex>       a manifest is in it: {"mediaType", "size"}
  repositories/<name>/_manifests/tags/<tag>                  the digest the tag points at
  repositories/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>   descriptor of a manifest with a subject
A blob is visible in a repository only through a link, so pushing to one repository does not leak
content into another; cross-repository mount adds a link without copying.
"""
from __future__ import annotations

import json
from typing import Any

from . import manifests as mf
from .names import parse_digest
from .storage.base import Stat, Storage

REPOS = "repositories"


def blob_key(digest: str) -> str:
    alg, hexa = parse_digest(digest)
    return f"blobs/{alg}/{hexa[:2]}/{hexa}"


def digest_from_blob_key(key: str) -> str | None:
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "blobs":
        return None
    return f"{parts[1]}:{parts[3]}"


def _repo(name: str) -> str:
    return f"{REPOS}/{name}"


def layer_key(name: str, digest: str) -> str:
    alg, hexa = parse_digest(digest)
    return f"{_repo(name)}/_layers/{alg}/{hexa}"


def revision_key(name: str, digest: str) -> str:
    alg, hexa = parse_digest(digest)
    return f"{_repo(name)}/_manifests/revisions/{alg}/{hexa}"


def tag_key(name: str, tag: str) -> str:
    return f"{_repo(name)}/_manifests/tags/{tag}"


def referrers_prefix(name: str, subject: str) -> str:
    alg, hexa = parse_digest(subject)
    return f"{_repo(name)}/_referrers/{alg}/{hexa}"


class RegistryStore:
    """Synchronous operations; the HTTP layer runs them in threads when the backend blocks."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # blobs -------------------------------------------------------------------------------
    def blob_stat(self, digest: str) -> Stat | None:
        return self.storage.stat(blob_key(digest))

    def repo_blob(self, name: str, digest: str) -> Stat | None:
        """The blob's stat if the repository holds it (as a layer/config or as a manifest)."""
        if self.storage.stat(layer_key(name, digest)) is None \
                and self.storage.stat(revision_key(name, digest)) is None:
            return None
        return self.storage.stat(blob_key(digest))

    def link_blob(self, name: str, digest: str) -> None:
        self.storage.touch(blob_key(digest))  # a re-pushed blob starts GC's grace period again
        self.storage.put(layer_key(name, digest), digest.encode())

    def unlink_blob(self, name: str, digest: str) -> bool:
        return self.storage.delete(layer_key(name, digest))

    def commit_blob(self, name: str, digest: str, path: str) -> None:
        """Moves a verified upload in as the blob (or drops it if the blob exists) and links it."""
        if self.storage.stat(blob_key(digest)) is None:
            self.storage.put_file(blob_key(digest), path)
        else:
            import os
            os.unlink(path)
        self.link_blob(name, digest)

    # manifests ---------------------------------------------------------------------------
    def manifest_info(self, name: str, digest: str) -> dict[str, Any] | None:
        raw = self.storage.get(revision_key(name, digest))
        if raw is None:
            return None
        info: dict[str, Any] = json.loads(raw)
        return info

    def resolve(self, name: str, reference: str) -> str | None:
        """A tag's digest (a digest resolves to itself when the repository has it)."""
        if ":" in reference:
            return reference if self.storage.stat(revision_key(name, reference)) is not None else None
        raw = self.storage.get(tag_key(name, reference))
        return raw.decode().strip() if raw else None

    def head_manifest(self, name: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        digest = self.resolve(name, reference)
        if digest is None:
            return None
        info = self.manifest_info(name, digest)
        return (digest, info) if info is not None else None

    def get_manifest(self, name: str, reference: str) -> tuple[str, dict[str, Any], bytes] | None:
        found = self.head_manifest(name, reference)
        if found is None:
            return None
        raw = self.storage.get(blob_key(found[0]))
        return (found[0], found[1], raw) if raw is not None else None

    def put_manifest(self, name: str, digest: str, raw: bytes, manifest: mf.Manifest, tag: str | None) -> None:
        if self.storage.stat(blob_key(digest)) is None:
            self.storage.put(blob_key(digest), raw)
        else:
            self.storage.touch(blob_key(digest))
        if manifest.subject is not None:
            alg, hexa = parse_digest(digest)
            descriptor: dict[str, Any] = {"mediaType": manifest.media_type, "digest": digest, "size": len(raw)}
            if manifest.artifact_type:
                descriptor["artifactType"] = manifest.artifact_type
            if manifest.annotations:
                descriptor["annotations"] = manifest.annotations
            self.storage.put(f"{referrers_prefix(name, manifest.subject['digest'])}/{alg}-{hexa}",
                             json.dumps(descriptor).encode())
        self.storage.put(revision_key(name, digest),
                         json.dumps({"mediaType": manifest.media_type, "size": len(raw)}).encode())
        if tag is not None:
            self.storage.put(tag_key(name, tag), digest.encode())

    def delete_manifest(self, name: str, digest: str) -> bool:
        if self.storage.stat(revision_key(name, digest)) is None:
            return False
        raw = self.storage.get(blob_key(digest))
        if raw:
            try:
                subject = json.loads(raw).get("subject")
                if isinstance(subject, dict) and isinstance(subject.get("digest"), str):
                    alg, hexa = parse_digest(digest)
                    self.storage.delete(f"{referrers_prefix(name, subject['digest'])}/{alg}-{hexa}")
            except (ValueError, AttributeError):
                pass
        for tag in self.tags(name) or []:
            if self.resolve(name, tag) == digest:
                self.storage.delete(tag_key(name, tag))
        self.storage.delete(revision_key(name, digest))
        return True

    def delete_tag(self, name: str, tag: str) -> bool:
        return self.storage.delete(tag_key(name, tag))

    # listings ----------------------------------------------------------------------------
    def repo_exists(self, name: str) -> bool:
        children = self.storage.list(_repo(name))
        return "_manifests" in children or "_layers" in children

    def tags(self, name: str) -> list[str] | None:
        if not self.repo_exists(name):
            return None
        return sorted(self.storage.list(f"{_repo(name)}/_manifests/tags"))

    def repositories(self) -> list[str]:
        found: list[str] = []

        def visit(path: str, name: str) -> None:
            children = self.storage.list(path)
            if "_manifests" in children:
                found.append(name)
            for child in children:
                if not child.startswith("_"):
                    visit(f"{path}/{child}", f"{name}/{child}" if name else child)

        visit(REPOS, "")
        return sorted(found)

    def revisions(self, name: str) -> list[str]:
        found = []
        for alg in self.storage.list(f"{_repo(name)}/_manifests/revisions"):
            for hexa in self.storage.list(f"{_repo(name)}/_manifests/revisions/{alg}"):
                found.append(f"{alg}:{hexa}")
        return found

    def layer_links(self, name: str) -> list[str]:
        found = []
        for alg in self.storage.list(f"{_repo(name)}/_layers"):
            for hexa in self.storage.list(f"{_repo(name)}/_layers/{alg}"):
                found.append(f"{alg}:{hexa}")
        return found

    def referrers(self, name: str, subject: str) -> list[dict[str, Any]]:
        prefix = referrers_prefix(name, subject)
        found = []
        for entry in self.storage.list(prefix):
            raw = self.storage.get(f"{prefix}/{entry}")
            if raw:
                descriptor = json.loads(raw)
                if self.storage.stat(revision_key(name, descriptor["digest"])) is not None:
                    found.append(descriptor)
        return found
