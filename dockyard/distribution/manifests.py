"""Manifest formats: Docker schema2 and manifest lists, OCI manifests and indexes; platform choice."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameter, NotFound

from ..mediatypes import (DOCKER_CONFIG, DOCKER_FOREIGN_LAYER, DOCKER_LAYER_GZIP, DOCKER_LIST,  # noqa: F401
                          DOCKER_MANIFEST, INDEXES, LAYER_TYPES, MANIFESTS, MAX_MANIFEST, OCI_CONFIG,
                          OCI_INDEX, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST, SCHEMA1)

ACCEPT = ", ".join((*MANIFESTS, *INDEXES))


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, d: Any, what: str) -> "Descriptor":
        if not isinstance(d, dict) or not isinstance(d.get("digest"), str) or not isinstance(d.get("size"), int):
            raise InvalidParameter(f"invalid manifest: {what} descriptor without digest or size")
        digest = d["digest"]
        if not digest.startswith("sha256:") or len(digest) != 71:
            raise InvalidParameter(f"invalid manifest: unsupported digest {digest}")
        return cls(str(d.get("mediaType") or ""), digest, d["size"], d.get("platform"),
                   tuple(d.get("urls") or ()))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": self.digest}
        if self.platform:
            out["platform"] = self.platform
        return out


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


def media_type_of(data: bytes, header: str | None) -> str:
    """The manifest's media type: its own `mediaType`, else the Content-Type, else by shape."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise InvalidParameter("invalid manifest: not JSON") from None
    if not isinstance(doc, dict):
        raise InvalidParameter("invalid manifest: not a JSON object")
    mt = doc.get("mediaType") or (header or "").split(";")[0].strip()
    if mt in (*MANIFESTS, *INDEXES, *SCHEMA1):
        return str(mt)
    if doc.get("schemaVersion") == 1:
        return SCHEMA1[0]
    if "manifests" in doc:
        return OCI_INDEX
    if "config" in doc and "layers" in doc:
        return OCI_MANIFEST
    raise InvalidParameter(f"unsupported manifest media type {mt!r}")


def parse_manifest(data: bytes, media_type: str) -> Manifest:
    doc = json.loads(data)
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise InvalidParameter("invalid manifest: no layers")
    config = Descriptor.parse(doc.get("config"), "config")
    parsed = tuple(Descriptor.parse(layer, "layer") for layer in layers)
    for layer in parsed:
        if layer.media_type and layer.media_type not in LAYER_TYPES:
            raise InvalidParameter(f"unsupported layer media type {layer.media_type}")
    return Manifest(media_type, config, parsed)


def parse_index(data: bytes) -> list[Descriptor]:
    doc = json.loads(data)
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        raise InvalidParameter("invalid manifest list: no manifests")
    return [Descriptor.parse(m, "manifest") for m in entries]


def _variant_ok(want: str, have: str, arch: str) -> bool:
    if not want:
        return True
    if arch == "arm64":  # arm64 images without a variant are v8
        return (have or "v8") == want
    return have == want


def select_platform(entries: list[Descriptor], os_: str, arch: str, variant: str) -> Descriptor:
    """containerd's default matcher in spirit: same OS and architecture, then the best variant."""
    candidates = []
    for d in entries:
        p = d.platform or {}
        if d.media_type and d.media_type not in (*MANIFESTS, ""):
            continue
        if p.get("os") == os_ and p.get("architecture") == arch and _variant_ok(variant, p.get("variant", ""), arch):
            candidates.append(d)
    if not candidates:
        want = "/".join(x for x in (os_, arch, variant) if x)
        raise NotFound(f"no matching manifest for {want} in the manifest list entries")
    # Prefer an exact variant match, then the first listed.
    candidates.sort(key=lambda d: (d.platform or {}).get("variant", "") != variant)
    return candidates[0]
