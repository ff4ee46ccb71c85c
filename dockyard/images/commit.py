"""`docker commit`: a new image from a container's image plus one layer of its writable changes."""
from __future__ import annotations

import json
import posixpath
import tarfile
import tempfile
from typing import Any, BinaryIO, Protocol

from ..errors import InvalidParameter
from .config import DOCKER_VERSION, apply_changes, empty_container_config, host_platform
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


def _filtered_diff(source: Source, container_id: str, out: BinaryIO) -> int:
    """The container's layer tar without the engine's bind-mount placeholders; returns the entry count.

    Directories that the diff holds only because the engine created its files in them (a
    copy-up of /etc for /etc/hosts) are left out too, so a step that changed nothing makes
    an empty layer, as Docker's separate init layer does.
    """
    with tempfile.TemporaryFile(dir=source.store.tmp) as raw:
        source.diff(container_id, raw)
        raw.seek(0)
        with tarfile.open(fileobj=raw, mode="r|", bufsize=_CHUNK) as src:
            names = [m.name.lstrip("./") for m in src]
        engine_only = _engine_only_dirs(names)
        raw.seek(0)
        count = 0
        with tarfile.open(fileobj=raw, mode="r|", bufsize=_CHUNK) as src, \
                tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as dst:
            for m in src:
                name = m.name.lstrip("./")
                if (name in ENGINE_FILES and not m.isdir()) or (m.isdir() and name in engine_only):
                    continue
                dst.addfile(m, src.extractfile(m) if m.isreg() else None)
                count += 1
        return count


def _engine_only_dirs(names: list[str]) -> set[str]:
    """Ancestors of engine files under which the diff holds nothing else."""
    holders = {posixpath.dirname(n) for n in names if n in ENGINE_FILES}
    holders.discard("")
    out = set()
    for d in holders:
        others = [n for n in names if n.startswith(d + "/") and n not in ENGINE_FILES]
        if not others:
            out.add(d)
    return out


def commit(source: Source, container_id: str, image_id: str, container_config: dict[str, Any],
           *, overrides: Any = None, changes: list[str] | None = None, comment: str = "",
           author: str = "", repo: str | None = None, tag: str | None = None) -> str:
    """`docker commit`: store the new image (and tag it); returns its ID. Blocking."""
    ref = None
    if repo:
        ref = parse_normalized(repo)
        if ref.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        ref = ref.with_tag(tag) if tag else ref.with_default_tag()
    elif tag:
        raise InvalidParameter("invalid reference format: a tag needs a repository")
    parent_id = source.resolve(image_id)
    cfg = merge_config(container_config, overrides)
    apply_changes(cfg, list(changes or []))
    cfg["Image"] = parent_id
    for key in ("AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"):
        cfg.setdefault(key, False)
    new_id = child_image(source, parent_id, cfg, container_config,
                         " ".join(container_config.get("Cmd") or []), layer_of=container_id,
                         container_id=container_id, author=author, comment=comment)
    if ref is not None:
        source.add_tags(new_id, [ref])
    return new_id


def child_image(source: Source, parent_id: str | None, config: dict[str, Any],
                container_config: dict[str, Any], created_by: str, *, layer_of: str | None = None,
                container_id: str = "", author: str = "", comment: str = "",
                reuse_layer: tuple[str, str] | None = None) -> str:
    """A child of `parent_id` (None: scratch) with `config`, plus the rw layer of `layer_of` if any.

    The one path by which commit and the builder make images. A diff without entries makes
    no layer: its history entry is marked `empty_layer`, as Docker does. `reuse_layer`
    (chain ID, diff ID) names a layer already stored on top of the parent's (build cache-from).
    """
    parent = json.loads(source.store.config_bytes(parent_id)) if parent_id else {}
    row = (source.store.image(parent_id) or {}) if parent_id else {}
    top = row.get("top_layer")
    layer = None
    if layer_of is not None:
        with tempfile.TemporaryFile(dir=source.store.tmp) as layer_tar:
            entries = _filtered_diff(source, layer_of, layer_tar)
            if entries:
                layer_tar.seek(0)
                layer = source.store.read_layer(layer_tar, top)
    new_top, new_diff = (layer.chain_id, layer.diff_id) if layer else reuse_layer or (top, None)
    try:
        created = now_rfc3339()
        history = list(parent.get("history") or [])
        entry: dict[str, Any] = {"created": created, "created_by": created_by}
        if author:
            entry["author"] = author
        if comment:
            entry["comment"] = comment
        if new_diff is None:
            entry["empty_layer"] = True
        history.append(entry)
        rootfs = dict(parent.get("rootfs") or {"type": "layers", "diff_ids": []})
        rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), *([new_diff] if new_diff else [])]
        arch = parent.get("architecture") or host_platform()[1]
        doc: dict[str, Any] = {
            "architecture": arch, "author": author,
            "comment": comment, "config": config, "container": container_id,
            "container_config": {**empty_container_config(), **json.loads(json.dumps(container_config))},
            "created": created, "docker_version": DOCKER_VERSION, "history": history,
            "os": parent.get("os") or "linux", "rootfs": rootfs}
        if parent.get("variant"):
            doc["variant"] = parent["variant"]
        for key in ("author", "comment", "container"):
            if not doc[key]:
                del doc[key]
        raw = json.dumps(doc, separators=(",", ":")).encode()
        with source.store.lock:
            if layer is not None:
                source.store.commit_layers([layer])
            return source.store.add_image(raw, new_top, parent_id or "")
    except BaseException:
        if layer is not None:
            source.store.discard([layer])
        raise
