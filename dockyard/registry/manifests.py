"""Manifest parsing and validation: Docker schema2 + manifest list, OCI manifest + index, what each references."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import RegistryError
from .names import parse_digest

from ..mediatypes import ALL_MANIFESTS, INDEXES, MAX_MANIFEST, OCI_INDEX, OCI_MANIFEST, SCHEMA1  # noqa: F401
# a Content-Type a client may send that says nothing about the manifest's kind
GENERIC_CONTENT_TYPES = ("", "application/json", "application/octet-stream", "text/plain")


@dataclass
class Manifest:
    media_type: str
    blobs: list[str] = field(default_factory=list)        # config + layers: must be blobs in the repo
    children: list[str] = field(default_factory=list)     # index entries: must be manifests in the repo
    subject: dict[str, Any] | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEXES


def _invalid(message: str) -> RegistryError:
    return RegistryError("MANIFEST_INVALID", detail=message)


def _descriptor(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where}: a descriptor must be an object")
    digest, size, media_type = value.get("digest"), value.get("size"), value.get("mediaType")
    if not isinstance(digest, str):
        raise _invalid(f"{where}: digest missing")
    parse_digest(digest, code="MANIFEST_INVALID")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}: size must be a non-negative integer")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where}: mediaType missing")
    return value


def kind_of(body: dict[str, Any], content_type: str) -> str:
    """The manifest's media type from its own field, the request's Content-Type, or its shape."""
    declared = body.get("mediaType")
    content_type = content_type.split(";")[0].strip().lower()
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string")
    if content_type in SCHEMA1 or declared in SCHEMA1:
        raise RegistryError("MANIFEST_INVALID", "schema1 manifests are not supported",
                            detail="use Docker schema2 or OCI manifests")
    if declared and content_type not in GENERIC_CONTENT_TYPES and declared != content_type:
        raise _invalid(f"mediaType {declared!r} does not match Content-Type {content_type!r}")
    kind = declared or (content_type if content_type not in GENERIC_CONTENT_TYPES else "")
    if not kind:
        kind = OCI_INDEX if "manifests" in body else OCI_MANIFEST
    if kind not in ALL_MANIFESTS:
        raise _invalid(f"unsupported manifest media type {kind!r}")
    return kind


def parse(raw: bytes, content_type: str = "") -> Manifest:
    """Validates a manifest body; raises MANIFEST_INVALID for anything malformed."""
    if len(raw) > MAX_MANIFEST:
        raise RegistryError("MANIFEST_INVALID", "manifest too big", status=413,
                            detail={"limit": MAX_MANIFEST, "size": len(raw)})
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise _invalid(f"not JSON: {e}") from None
    if not isinstance(body, dict):
        raise _invalid("a manifest must be a JSON object")
    if body.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2")
    kind = kind_of(body, content_type)
    annotations = body.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        raise _invalid("annotations must be an object")
    artifact_type = body.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise _invalid("artifactType must be a string")
    subject = body.get("subject")
    if subject is not None:
        subject = _descriptor(subject, "subject")
    manifest = Manifest(media_type=kind, subject=subject, artifact_type=artifact_type, annotations=annotations)
    if kind in INDEXES:
        entries = body.get("manifests")
        if not isinstance(entries, list):
            raise _invalid("an index needs a manifests list")
        for i, entry in enumerate(entries):
            manifest.children.append(_descriptor(entry, f"manifests[{i}]")["digest"])
    else:
        config = _descriptor(body.get("config"), "config")
        layers = body.get("layers", [] if kind == OCI_MANIFEST else None)
        if not isinstance(layers, list):
            raise _invalid("layers must be a list")
        manifest.blobs.append(config["digest"])
        for i, layer in enumerate(layers):
            layer = _descriptor(layer, f"layers[{i}]")
            if not layer.get("urls"):  # foreign (non-distributable) layers live elsewhere
                manifest.blobs.append(layer["digest"])
        if manifest.artifact_type is None:
            manifest.artifact_type = config["mediaType"]
    return manifest


def references(raw: bytes) -> list[str]:
    """Every digest a stored manifest keeps alive (for GC): config, layers, children, subject."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(body, dict):
        return []
    found: list[str] = []
    descriptors = [body.get("config"), body.get("subject"), *(body.get("layers") or []),
                   *(body.get("manifests") or [])]
    for d in descriptors:
        if isinstance(d, dict) and isinstance(d.get("digest"), str):
            found.append(d["digest"])
    return found


def accepts(accept: str, media_type: str) -> bool:
    """Whether an Accept header admits the media type (no header admits everything)."""
    if not accept.strip():
        return True
    major = media_type.split("/")[0]
    for item in accept.split(","):
        value = item.split(";")[0].strip().lower()
        if value in (media_type, "*/*", f"{major}/*"):
            return True
    return False
