"""`docker commit`: a new image from a container's image plus one layer of its writable changes."""
from __future__ import annotations

import json
import tarfile
import tempfile
from typing import Any, BinaryIO, Protocol

from ..errors import InvalidParameter
from .config import DOCKER_VERSION, apply_changes, empty_container_config
from .reference import Reference, parse_normalized
from .store import ImageStore, now_rfc3339

# Files the engine bind-mounts over the rootfs; Docker keeps them in an init layer, never commits them.
ENGINE_FILES = frozenset({"etc/hostname", "etc/hosts", "etc/resolv.conf"})
_CHUNK = 1 << 20


class Source(Protocol):
    """What commit needs from the image service."""

    store: ImageStore

    def resolve(self, name: str) -> str: ...
    def diff(self, container_id: str, out: BinaryIO) -> None: ...
    def add_tags(self, image_id: str, refs: list[Reference]) -> list[tuple[str, str]]: ...


def merge_config(container_config: dict[str, Any], overrides: Any) -> dict[str, Any]:
    """Docker's commit merge: the container's Config with the request body's set fields on top."""
    cfg = json.loads(json.dumps(container_config))  # a deep copy; the container record stays as is
    if overrides is None:
        return cfg
    if not isinstance(overrides, dict):
        raise InvalidParameter("invalid commit config: a JSON object is expected")
    for key, value in overrides.items():
        if value in (None, "", [], {}):
            continue  # unset in the request: the container's value stays (Docker's merge)
        if key in ("Env",) and isinstance(value, list):
            env = list(cfg.get("Env") or [])
            for entry in value:
                name = str(entry).partition("=")[0]
                env = [e for e in env if e.partition("=")[0] != name] + [str(entry)]
            cfg["Env"] = env
        elif key in ("ExposedPorts", "Volumes", "Labels") and isinstance(value, dict):
            cfg[key] = {**(cfg.get(key) or {}), **value}
        else:
            cfg[key] = value
    return cfg


def _filtered_diff(source: Source, container_id: str, out: BinaryIO) -> None:
    """The container's layer tar without the engine's bind-mount placeholders."""
    with tempfile.TemporaryFile(dir=source.store.tmp) as raw:
        source.diff(container_id, raw)
        raw.seek(0)
        with tarfile.open(fileobj=raw, mode="r|", bufsize=_CHUNK) as src, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as dst:
            for m in src:
                if m.name.lstrip("./") in ENGINE_FILES and not m.isdir():
                    continue
                dst.addfile(m, src.extractfile(m) if m.isreg() else None)


def commit(source: Source, container_id: str, image_id: str, container_config: dict[str, Any],
           *, overrides: Any = None, changes: list[str] | None = None, comment: str = "",
           author: str = "", repo: str | None = None, tag: str | None = None) -> str:
    """Store the new image (and tag it); returns its ID. Blocking."""
    ref = None
    if repo:
        ref = parse_normalized(repo)
        if ref.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        ref = ref.with_tag(tag) if tag else ref.with_default_tag()
    elif tag:
        raise InvalidParameter("invalid reference format: a tag needs a repository")
    parent_id = source.resolve(image_id)
    parent = json.loads(source.store.config_bytes(parent_id))
    row = source.store.image(parent_id) or {}
    top = row.get("top_layer")

    cfg = merge_config(container_config, overrides)
    apply_changes(cfg, list(changes or []))
    cfg["Image"] = parent_id
    for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"):
        cfg.setdefault(key, False)

    with tempfile.TemporaryFile(dir=source.store.tmp) as layer_tar:
        _filtered_diff(source, container_id, layer_tar)
        layer_tar.seek(0)
        layer = source.store.read_layer(layer_tar, top)
    try:
        created = now_rfc3339()
        history = list(parent.get("history") or [])
        entry: dict[str, Any] = {"created": created,
                                 "created_by": " ".join(container_config.get("Cmd") or [])}
        if author:
            entry["author"] = author
        if comment:
            entry["comment"] = comment
        history.append(entry)
        rootfs = dict(parent.get("rootfs") or {"type": "layers"})
        rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), layer.diff_id]
        doc: dict[str, Any] = {
            "architecture": parent.get("architecture") or "amd64", "author": author,
            "comment": comment, "config": cfg, "container": container_id,
            "container_config": {**empty_container_config(), **json.loads(json.dumps(container_config))},
            "created": created, "docker_version": DOCKER_VERSION, "history": history,
            "os": parent.get("os") or "linux", "rootfs": rootfs}
        if parent.get("variant"):
            doc["variant"] = parent["variant"]
        if not author:
            del doc["author"]
        if not comment:
            del doc["comment"]
        config = json.dumps(doc, separators=(",", ":")).encode()
        with source.store.lock:
            source.store.commit_layers([layer])
            new_id = source.store.add_image(config, layer.chain_id, parent_id)
    except BaseException:
        source.store.discard([layer])
        raise
    if ref is not None:
        source.add_tags(new_id, [ref])
    return new_id
