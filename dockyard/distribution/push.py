"""Push: upload an image's layers (skip blobs the repository has, mount blobs from a sibling
repository of the same registry, else gzip and upload), its config, then a schema2 manifest."""
from __future__ import annotations

import json
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Callable

from .. import errors
from ..images import remote
from ..images.reference import Reference
from ..snapshots.streams import _gzip_impl
from . import manifests as mf
from .metadata import BlobSource
from .progress import Emit, Meter, status
from .transport import RegistryError, Session

if TYPE_CHECKING:
    from .service import DistributionService

_GZIP_TYPES = (mf.DOCKER_LAYER_GZIP, mf.OCI_LAYER_GZIP)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int


class CountingReader:
    """A request body that reports its progress as http.client reads it."""

    def __init__(self, f: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        self._f, self._on_bytes = f, on_bytes

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        if data:
            self._on_bytes(len(data))
        return data

    def seek(self, pos: int) -> None:
        self._f.seek(pos)


def push_error(e: Exception) -> errors.DockyardError:
    if isinstance(e, RegistryError):
        if e.denied:
            return errors.Unauthorized(e.detail if e.codes else "denied: requested access to the resource is denied")
        return errors.SystemFailure(e.detail)
    if isinstance(e, errors.DockyardError):
        return e
    return errors.SystemFailure(str(e))


class Pusher:
    def __init__(self, ds: "DistributionService", session: Session, ref: Reference, emit: Emit) -> None:
        self.ds, self.session, self.ref, self.emit = ds, session, ref, emit
        self.repo = ref.path
        self.scopes = (f"repository:{self.repo}:pull,push",)

    # -- blobs ----------------------------------------------------------------------
    def exists(self, digest: str) -> Blob | None:
        try:
            with self.session.request("HEAD", f"/v2/{self.repo}/blobs/{digest}", self.scopes) as resp:
                return Blob(digest, int(resp.headers.get("content-length") or 0))
        except RegistryError as e:
            if e.status == 404:
                return None
            raise

    def mount(self, digest: str, source: str) -> str | None:
        """Cross-repository mount: None when mounted, else the upload URL the registry opened."""
        scopes = (*self.scopes, f"repository:{source}:pull")
        with self.session.request("POST", f"/v2/{self.repo}/blobs/uploads/?mount={digest}&from={source}",
                                  scopes, {"Content-Length": "0"}, b"", ok=(201, 202)) as resp:
            return None if resp.status == 201 else resp.headers.get("location")

    def upload(self, f: BinaryIO, blob: Blob, location: str | None, on_bytes: Callable[[int], None]) -> None:
        if location is None:
            with self.session.request("POST", f"/v2/{self.repo}/blobs/uploads/", self.scopes,
                                      {"Content-Length": "0"}, b"", ok=(202,)) as resp:
                location = resp.headers.get("location")
            if not location:
                raise errors.SystemFailure("the registry opened an upload without a Location")
        sep = "&" if "?" in location else "?"
        with self.session.request("PUT", f"{location}{sep}digest={blob.digest}", self.scopes,
                                  {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)},
                                  CountingReader(f, on_bytes), ok=(201, 204)):
            pass

    def push_layer(self, layer: remote.PushLayer) -> mf.Descriptor:
        ident = layer.diff_id.split(":", 1)[1][:12]
        domain = self.ref.domain
        candidates: list[BlobSource] = [s for s in self.ds.metadata.sources(layer.diff_id)
                                        if s.media_type in _GZIP_TYPES]
        if layer.media == "gzip" and layer.blob:
            candidates.append(BlobSource(layer.diff_id, layer.blob, mf.DOCKER_LAYER_GZIP, layer.blob_size, "", ""))
        location: str | None = None
        checked: set[str] = set()
        for c in candidates:
            if c.digest in checked:
                continue
            if (c.registry, c.repository) == (domain, self.repo) or not c.registry:
                checked.add(c.digest)
                found = self.exists(c.digest)
                if found is not None:
                    self.emit(status("Layer already exists", ident))
                    return mf.Descriptor(mf.DOCKER_LAYER_GZIP, c.digest, found.size or c.size)
        for c in candidates:
            if c.registry == domain and c.repository != self.repo and location is None:
                try:
                    location = self.mount(c.digest, c.repository)
                except RegistryError:
                    continue
                if location is None:
                    self.ds.metadata.add(BlobSource(layer.diff_id, c.digest, c.media_type, c.size, domain, self.repo))
                    self.emit(status(f"Mounted from {c.repository}", ident))
                    return mf.Descriptor(mf.DOCKER_LAYER_GZIP, c.digest, c.size)
        if layer.media == "gzip" and layer.blob:
            blob = Blob(layer.blob, layer.blob_size)
            meter = Meter(self.emit, "Pushing", ident, blob.size)
            with remote.open_blob(self.ds.images, layer) as f:
                self.upload(f, blob, location, meter.add)
        else:
            path, blob = self._compress(layer)
            try:
                meter = Meter(self.emit, "Pushing", ident, blob.size)
                with open(path, "rb") as f:
                    self.upload(f, blob, location, meter.add)
            finally:
                os.unlink(path)
        self.ds.metadata.add(BlobSource(layer.diff_id, blob.digest, mf.DOCKER_LAYER_GZIP, blob.size, domain, self.repo))
        self.emit(status("Pushed", ident))
        return mf.Descriptor(mf.DOCKER_LAYER_GZIP, blob.digest, blob.size)

    def _compress(self, layer: remote.PushLayer) -> tuple[str, Blob]:
        """gzip the layer tar into a temp file under the data root; (path, digest and size)."""
        import hashlib

        path = str(self.ds.tmp_dir / f"push-{uuid.uuid4().hex}.tar.gz")
        h = hashlib.sha256()

        class _Hashing:
            size = 0

            def __init__(self, out: BinaryIO) -> None:
                self.out = out

            def write(self, data: bytes) -> int:
                h.update(data)
                self.size += len(data)
                return self.out.write(data)

            def flush(self) -> None:
                self.out.flush()

        try:
            with open(path, "xb") as raw, remote.open_tar(self.ds.images, layer) as tar:
                hashing = _Hashing(raw)
                with _gzip_impl.GzipFile(fileobj=hashing, mode="wb", mtime=0) as gz:
                    while chunk := tar.read(_CHUNK):  # type: ignore[attr-defined]
                        gz.write(chunk)
        except BaseException:
            if os.path.exists(path):
                os.unlink(path)
            raise
        return path, Blob("sha256:" + h.hexdigest(), hashing.size)

    def push_config(self, config: bytes) -> mf.Descriptor:
        digest = mf.digest_of(config)
        if self.exists(digest) is None:
            import io
            self.upload(io.BytesIO(config), Blob(digest, len(config)), None, lambda n: None)
        return mf.Descriptor(mf.DOCKER_CONFIG, digest, len(config))

    # -- one tag ----------------------------------------------------------------------
    def push_tag(self, tag: str, image_id: str) -> str:
        config, layers = remote.push_plan(self.ds.images, image_id)
        for layer in layers:
            self.emit(status("Preparing", layer.diff_id.split(":", 1)[1][:12]))
        for layer in layers[self.ds.config.max_uploads:]:
            self.emit(status("Waiting", layer.diff_id.split(":", 1)[1][:12]))
        descs: list[mf.Descriptor | None] = [None] * len(layers)
        cancel = threading.Event()

        def one(i: int) -> None:
            if cancel.is_set():
                return
            descs[i] = self.push_layer(layers[i])

        # Upload top layers first like Docker? Base first keeps progress readable; order does not matter.
        with ThreadPoolExecutor(self.ds.config.max_uploads, thread_name_prefix="push") as pool:
            futures = [pool.submit(one, i) for i in range(len(layers))]
            first: BaseException | None = None
            for fut in futures:
                try:
                    fut.result()
                except BaseException as e:  # noqa: BLE001
                    cancel.set()
                    first = first or e
            if first is not None:
                raise first
        cfg = self.push_config(config)
        doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST, "config": cfg.to_json(),
                               "layers": [d.to_json() for d in descs if d is not None]}
        manifest = json.dumps(doc, indent=3).encode()
        with self.session.request("PUT", f"/v2/{self.repo}/manifests/{tag}", self.scopes,
                                  {"Content-Type": mf.DOCKER_MANIFEST}, manifest, ok=(200, 201, 202)) as resp:
            digest = resp.headers.get("docker-content-digest") or mf.digest_of(manifest)
        if digest != mf.digest_of(manifest):
            raise errors.SystemFailure(f"the registry stored the manifest under {digest}, "
                                      f"expected {mf.digest_of(manifest)}")
        self.ds.images.add_tags(image_id, [Reference(self.ref.domain, self.ref.path, None, digest)])
        self.emit(status(f"{tag}: digest: {digest} size: {len(manifest)}"))
        self.emit({"progressDetail": {}, "aux": {"Tag": tag, "Digest": digest, "Size": len(manifest)}})
        return digest
