"""Images that come from or go to registries: unpack verified layers, commit a pulled image with
its tag and RepoDigest, and hand out what a push needs (layer blobs, config)."""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Iterator

from ..errors import InvalidParameter, NotFound
from .reference import Reference
from .store import NewLayer, chain_id, hexof

if TYPE_CHECKING:
    from .service import ImageService


def diff_ids_of(config: bytes) -> list[str]:
    try:
        ids = json.loads(config)["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        raise InvalidParameter("invalid image config: no rootfs.diff_ids") from None
    if not isinstance(ids, list) or not all(isinstance(i, str) and i.startswith("sha256:") for i in ids):
        raise InvalidParameter("invalid image config: bad rootfs.diff_ids")
    return ids


def chain_ids(diff_ids: list[str]) -> list[str]:
    out: list[str] = []
    parent: str | None = None
    for d in diff_ids:
        parent = chain_id(parent, d)
        out.append(parent)
    return out


def lease_layer(svc: "ImageService", cid: str) -> bool:
    """If layer `cid` is stored, hold it against GC (release with `release`) and return True."""
    store = svc.store
    with store.lock:
        if store.layer(cid) is not None and store.driver.has_layer(hexof(cid)):
            store.leases[cid] += 1
            return True
    return False


def release(svc: "ImageService", cids: list[str]) -> None:
    svc.store.release(cids)


def unpack_layer(svc: "ImageService", stream: BinaryIO, parent: str | None, diff_id: str,
                 blob_digest: str) -> NewLayer:
    """Unpack a layer blob into a pending layer; both the blob digest and the diffID are checked.

    Nothing becomes visible until `commit_pulled`; on any error the pending layer is gone.
    """
    nl = svc.store.read_layer(stream, parent, diff_id)
    if nl.writer is not None and nl.writer.digest != blob_digest:
        got = nl.writer.digest
        svc.store.discard([nl])
        raise InvalidParameter(f"digest mismatch: expected {blob_digest}, got {got}")
    return nl


def discard(svc: "ImageService", layers: list[NewLayer]) -> None:
    svc.store.discard(layers)


def commit_pulled(svc: "ImageService", config: bytes, layers: list[NewLayer], top: str | None,
                  refs: list[Reference]) -> tuple[str, bool]:
    """Publish the new layers and the image, then point `refs` at it.

    Returns (image ID, whether any of the refs moved or is new: Docker's "Downloaded newer image").
    """
    store = svc.store
    with store.lock:
        store.commit_layers(layers)
        if top is not None and store.layer(top) is None:
            raise NotFound(f"layer {top} is missing after the pull")
        image_id = store.add_image(config, top)
    updated = any(store.ref_target(str(r)) != image_id for r in refs)
    if refs:
        svc.add_tags(image_id, refs)
    return image_id, updated


@dataclass
class PushLayer:
    diff_id: str
    chain_id: str
    blob: str | None        # stored blob digest (as received), None if not kept
    media: str              # "gzip" | "zstd" | "none"
    blob_size: int          # bytes of the stored blob
    tar_size: int


def push_plan(svc: "ImageService", image_id: str) -> tuple[bytes, list[PushLayer]]:
    """The config and the layers (base first) of a stored image, for a push."""
    store = svc.store
    row = store.image(image_id)
    if row is None:
        raise NotFound(f"No such image: {image_id}")
    layers = []
    for r in store.chain(row["top_layer"]):
        size = store.content.size(r["blob"]) if r["blob"] and store.content.exists(r["blob"]) else 0
        layers.append(PushLayer(r["diff_id"], r["chain_id"], r["blob"] if size else None, r["media"], size,
                                r["tar_size"]))
    return store.config_bytes(image_id), layers


@contextmanager
def open_blob(svc: "ImageService", layer: PushLayer) -> Iterator[BinaryIO]:
    """The stored blob of a layer exactly as it was received."""
    if layer.blob is None:
        raise NotFound(f"layer {layer.diff_id} has no stored blob")
    with svc.store.content.open(layer.blob) as f:
        yield f


@contextmanager
def open_tar(svc: "ImageService", layer: PushLayer) -> Iterator[object]:
    """The uncompressed tar of a layer (its diffID holds)."""
    row = svc.store.layer(layer.chain_id)
    if row is None:
        raise NotFound(f"layer {layer.chain_id} does not exist")
    with svc.store.layer_stream(row) as f:
        yield f


def tags_of_repo(svc: "ImageService", name: str) -> list[tuple[str, str]]:
    """(tag, image ID) for every tag of repository `name` (normalised, e.g. docker.io/library/x)."""
    rows = svc.store.db.query("SELECT ref, image_id FROM image_refs WHERE ref LIKE ? AND is_digest=0 ORDER BY ref",
                              (name + ":%",))
    return [(r["ref"][len(name) + 1:], r["image_id"]) for r in rows
            if r["ref"].rsplit(":", 1)[0] == name and "/" not in r["ref"][len(name) + 1:]]
