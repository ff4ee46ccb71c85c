"""`docker save` / `docker load`: docker-archive (Docker 20.10) and OCI layout (Docker 25+) tars."""
from __future__ import annotations

import hashlib
import io
import json
import posixpath
import shutil
import tarfile
import uuid
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import InvalidParameter
from ..linux import fstree
from ..mediatypes import INDEXES
from ..snapshots import clean_name
from ..snapshots.limits import CountIn, Meter
from .config import empty_container_config, host_platform
from .reference import Reference, parse_any, parse_normalized
from .store import NewLayer, chain_id, hexof, parse_time

if TYPE_CHECKING:
    from .service import ImageService

_CHUNK = 1 << 20


# -- save ---------------------------------------------------------------------------------
def _select(svc: "ImageService", names: list[str]) -> dict[str, list[Reference]]:
    """Image IDs to save and the tags to record for each (Docker's parseNames)."""
    out: dict[str, list[Reference]] = {}
    for name in names:
        ref = parse_any(name)
        if isinstance(ref, Reference) and ref.name_only:
            rows = svc.store.db.query("SELECT ref, image_id FROM image_refs WHERE ref LIKE ? AND is_digest=0 "
                                      "ORDER BY ref", (ref.name + ":%",))
            rows = [r for r in rows if r["ref"].rsplit(":", 1)[0] == ref.name]
            for r in rows:
                out.setdefault(r["image_id"], []).append(parse_normalized(r["ref"]))
            if rows:
                continue
        image_id = svc.resolve(name)
        tags = out.setdefault(image_id, [])
        if isinstance(ref, Reference) and ref.tag and ref.digest is None and ref not in tags:
            tags.append(ref)
    return out


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mtime, ti.mode = len(data), mtime, 0o644
    tf.addfile(ti, io.BytesIO(data))


def save(svc: "ImageService", names: list[str], out: BinaryIO) -> None:
    store = svc.store
    images = _select(svc, names)
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    written: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tf:
        for image_id, refs in images.items():
            config = store.config_bytes(image_id)
            cfg = json.loads(config)
            mtime = parse_time(cfg.get("created"))
            layers = store.chain(store.image(image_id)["top_layer"])  # type: ignore[index]
            parent, paths = "", []
            for i, layer in enumerate(layers):
                top = i == len(layers) - 1
                # Legacy v1 IDs: only a stable name for the layer dir; docker load does not check them.
                seed = f"{parent} {layer['chain_id']}" + (f" {image_id}" if top else "")
                v1 = hashlib.sha256(seed.encode()).hexdigest()
                if v1 not in written:
                    written.add(v1)
                    _write_layer(svc, tf, v1, parent, layer, cfg if top else None, mtime)
                paths.append(f"{v1}/layer.tar")
                parent = v1
            if hexof(image_id) not in written:
                written.add(hexof(image_id))
                _add_bytes(tf, f"{hexof(image_id)}.json", config, mtime)
            manifest.append({"Config": f"{hexof(image_id)}.json",
                             "RepoTags": [r.familiar() for r in refs] or None, "Layers": paths})
            for r in refs:
                repositories.setdefault(r.familiar_name, {})[r.tag or "latest"] = parent
        _add_bytes(tf, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode(), 0)
        if repositories:
            _add_bytes(tf, "repositories", json.dumps(repositories, separators=(",", ":")).encode(), 0)


def _write_layer(svc: "ImageService", tf: tarfile.TarFile, v1: str, parent: str, layer: dict,
                 cfg: dict | None, mtime: int) -> None:
    d = tarfile.TarInfo(v1)
    d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, mtime
    tf.addfile(d)
    _add_bytes(tf, f"{v1}/VERSION", b"1.0", mtime)
    legacy: dict[str, Any] = {"id": v1}
    if parent:
        legacy["parent"] = parent
    if cfg is None:
        legacy.update({"created": "0001-01-01T00:00:00Z", "container_config": empty_container_config()})
    else:
        legacy.update({k: v for k, v in cfg.items() if k not in ("history", "rootfs", "id", "parent")})
    _add_bytes(tf, f"{v1}/json", json.dumps(legacy, separators=(",", ":")).encode(), mtime)
    ti = tarfile.TarInfo(f"{v1}/layer.tar")
    ti.size, ti.mtime, ti.mode = layer["tar_size"], mtime, 0o644
    with svc.store.layer_stream(layer) as f:
        tf.addfile(ti, f)  # type: ignore[arg-type]


# -- load ---------------------------------------------------------------------------------
class _Archive:
    """The input tar unpacked into a private temp dir: regular files only, symlinks kept as a map."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.links: dict[str, str] = {}

    def extract(self, stream: BinaryIO, meter: Meter) -> None:
        try:
            counted = CountIn(stream, meter)
            with tarfile.open(fileobj=counted, mode="r|*", bufsize=_CHUNK) as tf:  # type: ignore[call-overload]
                for m in tf:
                    meter.add_content(m.size + tarfile.BLOCKSIZE)  # bzip2/xz are inflated inside tarfile
                    name = clean_name(m.name)
                    if not name or m.isdir():
                        continue
                    if m.issym() or m.islnk():
                        base = posixpath.dirname(name) if m.issym() else ""
                        self.links[name] = posixpath.normpath(posixpath.join(base, m.linkname))
                    elif m.isreg():
                        path = self.root / name
                        path.parent.mkdir(parents=True, exist_ok=True)
                        src = tf.extractfile(m)
                        assert src is not None  # a regular member always has content
                        with open(path, "xb") as f:
                            shutil.copyfileobj(src, f, _CHUNK)
        except (tarfile.TarError, EOFError, zlib.error, FileExistsError, NotADirectoryError) as e:
            raise InvalidParameter(f"invalid archive: {e}") from None

    def path(self, name: str) -> Path:
        name = posixpath.normpath(name)
        for _ in range(16):
            if name.startswith("../") or name == "..":
                break
            if (self.root / name).is_file():
                return self.root / name
            if name not in self.links:
                break
            name = self.links[name]
        raise InvalidParameter(f"invalid archive: missing {name}")

    def has(self, name: str) -> bool:
        try:
            self.path(name)
            return True
        except InvalidParameter:
            return False

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.path(name).read_bytes())
        except ValueError as e:
            raise InvalidParameter(f"invalid archive: {name}: {e}") from None


def _docker_entries(arc: _Archive) -> list[tuple[bytes, list[str], list[str]]]:
    entries = []
    for item in arc.json("manifest.json"):
        entries.append((arc.path(item["Config"]).read_bytes(), list(item["Layers"]),
                        list(item.get("RepoTags") or [])))
    return entries


def _oci_entries(arc: _Archive) -> list[tuple[bytes, list[str], list[str]]]:
    def blob(digest: str) -> str:
        alg, _, hexd = digest.partition(":")
        return f"blobs/{alg}/{hexd}"

    os_, arch, _ = host_platform()
    entries = []
    for desc in arc.json("index.json").get("manifests", []):
        annotations = desc.get("annotations") or {}
        manifest = arc.json(blob(desc["digest"]))
        if desc.get("mediaType") in INDEXES or "manifests" in manifest:
            match = [m for m in manifest["manifests"]
                     if (m.get("platform") or {}).get("os") == os_
                     and (m.get("platform") or {}).get("architecture") == arch]
            if not match:
                raise InvalidParameter(f"no image for {os_}/{arch} in the archive")
            manifest = arc.json(blob(match[0]["digest"]))
        config = arc.path(blob(manifest["config"]["digest"])).read_bytes()
        if "sha256:" + hashlib.sha256(config).hexdigest() != manifest["config"]["digest"]:
            raise InvalidParameter("invalid archive: config digest mismatch")
        name = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")
        refs = [name] if name and ("/" in name or ":" in name) else []
        entries.append((config, [blob(layer["digest"]) for layer in manifest["layers"]], refs))
    return entries


def load(svc: "ImageService", stream: BinaryIO) -> list[str]:
    store = svc.store
    root = store.tmp / f"load-{uuid.uuid4().hex}"
    root.mkdir()
    arc = _Archive(root)
    new: dict[str, NewLayer] = {}
    try:
        arc.extract(stream, store.limits.meter("archive"))
        if arc.has("manifest.json"):
            entries = _docker_entries(arc)
        elif arc.has("index.json"):
            entries = _oci_entries(arc)
        else:
            raise InvalidParameter("invalid archive: no manifest.json or index.json found")
        plans = []
        for config, layer_files, tags in entries:
            refs = [parse_normalized(t).with_default_tag() for t in tags]
            try:
                diff_ids = json.loads(config)["rootfs"]["diff_ids"]
            except (ValueError, KeyError, TypeError):
                raise InvalidParameter("invalid archive: image config without rootfs") from None
            if len(diff_ids) != len(layer_files):
                raise InvalidParameter("invalid archive: layer count does not match the image config")
            parent: str | None = None
            for path, diff_id in zip(layer_files, diff_ids):
                cid = chain_id(parent, diff_id)
                if cid not in new:
                    with open(arc.path(path), "rb") as f:
                        new[cid] = store.read_layer(f, parent, diff_id)
                parent = cid
            plans.append((config, parent, refs))
        with store.lock:
            store.commit_layers(list(new.values()))
            ids = [store.add_image(config, top) for config, top, _refs in plans]
    except BaseException:
        store.discard(list(new.values()))
        raise
    else:
        store.release([nl.chain_id for nl in new.values() if nl.pending is None])
    finally:
        fstree.remove_tree(root, ignore_errors=True)
    lines = []
    for image_id, (_config, _top, refs) in zip(ids, plans):
        for moved, old in svc.add_tags(image_id, refs):
            lines.append(f"The image {moved} already exists, renaming the old one with ID {old} to empty string")
        lines += [f"Loaded image: {r.familiar()}" for r in refs] or [f"Loaded image ID: {image_id}"]
    return lines


