"""Read-only image views in Engine API shapes: ImageInspect, ImageSummary, image history."""
from __future__ import annotations

import fnmatch
import json
from typing import TYPE_CHECKING, Any

from ..errors import InvalidParameter
from .config import empty_container_config
from .reference import familiar
from .store import ZERO_TIME, hexof, parse_time

if TYPE_CHECKING:
    from .service import ImageService

LIST_FILTERS = ("before", "dangling", "label", "reference", "since")


def _refs(svc: "ImageService", image_id: str) -> tuple[list[str], list[str]]:
    tags: list[str] = []
    digests: list[str] = []
    for ref in svc.store.refs_of(image_id):
        (digests if "@" in ref else tags).append(familiar(ref))
    return sorted(tags), sorted(digests)


def inspect(svc: "ImageService", image_id: str) -> dict[str, Any]:
    store = svc.store
    row = store.image(image_id)
    assert row is not None
    cfg = json.loads(store.config_bytes(image_id))
    tags, digests = _refs(svc, image_id)
    top = row["top_layer"]
    out: dict[str, Any] = {
        "Id": image_id, "RepoTags": tags, "RepoDigests": digests, "Parent": row["parent"],
        "Comment": cfg.get("comment", ""), "Created": cfg.get("created", ZERO_TIME),
        "Container": cfg.get("container", ""),
        "ContainerConfig": cfg.get("container_config") or empty_container_config(),
        "DockerVersion": cfg.get("docker_version", ""), "Author": cfg.get("author", ""),
        "Config": cfg.get("config") or empty_container_config(),
        "Architecture": cfg.get("architecture", ""), "Os": cfg.get("os", ""),
        "Size": row["size"], "VirtualSize": row["size"],
        "GraphDriver": {"Name": store.driver.name,
                        "Data": (store.driver.metadata(hexof(top)) if top else None) or None},
        "RootFS": {"Type": "layers", "Layers": [layer["diff_id"] for layer in store.chain(top)]},
        "Metadata": {"LastTagTime": row["last_tag_time"] or ZERO_TIME},
    }
    if cfg.get("variant"):
        out["Variant"] = cfg["variant"]
    if cfg.get("os.version"):
        out["OsVersion"] = cfg["os.version"]
    return out


def history(svc: "ImageService", image_id: str) -> list[dict[str, Any]]:
    """Newest first; layer sizes matched to the history entries that made a layer."""
    store = svc.store
    cfg = json.loads(store.config_bytes(image_id))
    layers = store.chain(store.image(image_id)["top_layer"])  # type: ignore[index]
    entries = cfg.get("history") or [{"created": cfg.get("created")} for _ in layers]
    out: list[dict[str, Any]] = []
    i = 0
    for h in entries:
        size = 0
        if not h.get("empty_layer") and i < len(layers):
            size = layers[i]["size"]
            i += 1
        out.append({"Id": "<missing>", "Created": parse_time(h.get("created")),
                    "CreatedBy": h.get("created_by", ""), "Tags": None, "Size": size,
                    "Comment": h.get("comment", "")})
    out.reverse()
    # Walk the parent chain (set by builds/commits) to name the entries it covers.
    current: str | None = image_id
    for entry in out:
        if not current:
            break
        entry["Id"] = current
        entry["Tags"] = _refs(svc, current)[0] or None
        parent = store.image(current)
        current = parent["parent"] if parent else None
    return out


def _check_filters(filters: dict[str, list[str]]) -> None:
    for key in filters:
        if key not in LIST_FILTERS:
            raise InvalidParameter(f"Invalid filter '{key}'")
    for value in filters.get("dangling", []):
        if value.lower() not in ("true", "false", "1", "0"):
            raise InvalidParameter(f"Invalid filter 'dangling={value}'")


def list_images(svc: "ImageService", all: bool, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
    _check_filters(filters)
    store = svc.store
    dangling = filters.get("dangling")
    dangling_only = dangling is not None and bool(dangling) and dangling[-1].lower() in ("true", "1")
    before = min((store.image(svc.resolve(n))["created"] for n in filters.get("before", [])),  # type: ignore[index]
                 default=None)
    since = max((store.image(svc.resolve(n))["created"] for n in filters.get("since", [])),  # type: ignore[index]
                default=None)
    parents = {r["parent"] for r in store.db.query("SELECT parent FROM images WHERE parent != ''")}
    out = []
    for row in store.db.query("SELECT * FROM images ORDER BY created DESC, id"):
        image_id = row["id"]
        if before is not None and row["created"] >= before:
            continue
        if since is not None and row["created"] <= since:
            continue
        if dangling_only and image_id in parents:
            continue  # Docker lists only heads for dangling=true
        cfg = json.loads(store.config_bytes(image_id))
        labels = (cfg.get("config") or {}).get("Labels")
        if not _labels_match(labels or {}, filters.get("label", [])):
            continue
        tags, digests = _refs(svc, image_id)
        if "reference" in filters:
            if not tags and not digests:
                continue
            tags = [t for t in tags if _ref_match(t, filters["reference"])]
            digests = [d for d in digests if _ref_match(d, filters["reference"])]
            if not tags and not digests:
                continue
        if not tags and not digests:
            if not all and image_id in parents:
                continue  # an intermediate image
            if dangling is not None and not dangling_only:
                continue
            tags, digests = ["<none>:<none>"], ["<none>@<none>"]
        elif dangling_only:
            continue
        out.append({"Containers": -1, "Created": row["created"], "Id": image_id, "Labels": labels,
                    "ParentId": row["parent"], "RepoDigests": digests, "RepoTags": tags,
                    "SharedSize": -1, "Size": row["size"], "VirtualSize": row["size"]})
    return out


def _labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    for w in wanted:
        key, eq, value = w.partition("=")
        if key not in labels or (eq and labels[key] != value):
            return False
    return True


def _ref_match(familiar_ref: str, patterns: list[str]) -> bool:
    """Docker matches the pattern against both `name:tag` and the bare familiar name."""
    name = familiar_ref.split("@", 1)[0].rsplit(":", 1)[0] if ":" in familiar_ref.split("/")[-1] \
        else familiar_ref.split("@", 1)[0]
    for p in patterns:
        if fnmatch.fnmatchcase(familiar_ref, p) or fnmatch.fnmatchcase(name, p):
            return True
    return False
