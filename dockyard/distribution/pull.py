"""Pull: resolve a reference on a registry (mirrors first), choose the platform, download layers
concurrently straight into pending layers, verify every digest, then commit image, tag and digest."""
from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors
from ..images import remote
from ..images.reference import Reference
from ..images.store import NewLayer
from . import manifests as mf
from .metadata import BlobSource
from .progress import Emit, Meter, status
from .transport import BlobReader, RegistryError, Session

if TYPE_CHECKING:
    from .service import DistributionService


class Cancelled(Exception):
    pass


class _Fallback(Exception):
    """This endpoint (a mirror, or https of an insecure registry) failed before any output."""


@dataclass
class Resolved:
    digest: str                   # what the reference names: the index digest for a multi-arch image
    manifest: mf.Manifest
    manifest_bytes: bytes
    manifest_digest: str
    config: bytes


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class HashingReader:
    """Counts and hashes what passes (the compressed blob), checks cancellation between reads."""

    def __init__(self, raw: BlobReader, cancel: threading.Event) -> None:
        self.raw, self.cancel = raw, cancel
        self._hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        if self.cancel.is_set():
            raise Cancelled()
        data = self.raw.read(n)
        self._hash.update(data)
        return data

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    @property
    def complete(self) -> bool:
        return self.raw.offset >= self.raw.size


def read_manifest(session: Session, repo: str, ref: str, scopes: tuple[str, ...]) -> tuple[bytes, str, str]:
    """GET a manifest by tag or digest: (bytes, media type, digest), the digest verified."""
    with session.request("GET", f"/v2/{repo}/manifests/{ref}", scopes, {"Accept": mf.ACCEPT}) as resp:
        data = resp.read(mf.MAX_MANIFEST + 1)
        header_digest = resp.headers.get("docker-content-digest")
        ctype = resp.headers.get("content-type")
    if len(data) > mf.MAX_MANIFEST:
        raise errors.InvalidParameter(f"manifest {ref} is larger than {mf.MAX_MANIFEST} bytes")
    digest = mf.digest_of(data)
    if ref.startswith("sha256:") and digest != ref:
        raise errors.InvalidParameter(f"manifest verification failed for digest {ref}")
    if header_digest and header_digest.startswith("sha256:") and header_digest != digest:
        raise errors.InvalidParameter(f"manifest verification failed for digest {header_digest}")
    return data, mf.media_type_of(data, ctype), digest


def read_blob(session: Session, repo: str, desc: mf.Descriptor, scopes: tuple[str, ...]) -> bytes:
    if desc.size > mf.MAX_MANIFEST * 4:
        raise errors.InvalidParameter(f"blob {desc.digest} is too large for an image config")
    with session.request("GET", f"/v2/{repo}/blobs/{desc.digest}", scopes) as resp:
        data = resp.read(desc.size + 1)
    if len(data) != desc.size or mf.digest_of(data) != desc.digest:
        raise errors.InvalidParameter(f"image config verification failed for digest {desc.digest}")
    return data


def resolve(session: Session, ref: Reference, platform: tuple[str, str, str]) -> Resolved:
    repo = ref.path
    scopes = (f"repository:{repo}:pull",)
    data, mt, digest = read_manifest(session, repo, ref.digest or ref.tag or "latest", scopes)
    top = digest
    if mt in mf.SCHEMA1:
        raise errors.InvalidParameter(
            f"unsupported manifest format: {mt} (Docker Image manifest version 2, schema 1 is not supported)")
    if mt in mf.INDEXES:
        chosen = mf.select_platform(mf.parse_index(data), *platform)
        data, mt, digest = read_manifest(session, repo, chosen.digest, scopes)
        if mt not in mf.MANIFESTS:
            raise errors.InvalidParameter(f"unsupported manifest in the list: {mt}")
    manifest = mf.parse_manifest(data, mt)
    config = read_blob(session, repo, manifest.config, scopes)
    return Resolved(top, manifest, data, digest, config)


def _pull_error(ref: Reference, e: Exception) -> errors.DockyardError:
    if isinstance(e, RegistryError):
        if "MANIFEST_UNKNOWN" in e.codes or (e.status == 404 and not e.denied and "/manifests/" in e.url):
            return errors.NotFound(f"manifest for {ref.familiar()} not found: {e.detail}")
        if e.denied or e.status == 404:
            return errors.NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist "
                                   f"or may require 'docker login': {e.detail}")
        return errors.SystemFailure(f"error from registry: {e.detail}")
    if isinstance(e, errors.Unauthorized):
        return errors.NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist "
                               f"or may require 'docker login': {e.message}")
    if isinstance(e, errors.SystemFailure) and e.message.endswith(": no such host"):
        # Docker answers 500 here; a registry whose name does not resolve cannot have the image,
        # and 404 lets clients (docker-py's run) report ImageNotFound on hosts without DNS.
        return errors.NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist "
                               f"or may require 'docker login': {e.message}")
    if isinstance(e, errors.DockyardError):
        return e
    return errors.SystemFailure(str(e))


def pull(ds: "DistributionService", ref: Reference, platform: tuple[str, str, str], creds: Any,
         emit: Emit) -> str:
    """Pull `ref` (tag or digest) and return the image ID; `emit` receives the progress messages."""
    last: Exception | None = None
    for endpoint in ds.config.endpoints(ref.domain):
        session = ds.transport.session(endpoint, creds)
        try:
            session.ping()
            resolved = resolve(session, ref, platform)
        except (RegistryError, errors.SystemFailure, errors.NotFound, errors.Unauthorized) as e:
            last = e
            if isinstance(e, RegistryError) and e.status == 401 and not endpoint.mirror:
                break  # wrong credentials: another endpoint would not help
            continue
        return _download(ds, session, ref, resolved, emit)
    assert last is not None
    raise _pull_error(ref, last)


def _download(ds: "DistributionService", session: Session, ref: Reference, r: Resolved, emit: Emit) -> str:
    images = ds.images
    repo = ref.path
    scopes = (f"repository:{repo}:pull",)
    diff_ids = remote.diff_ids_of(r.config)
    layers = r.manifest.layers
    if len(diff_ids) != len(layers):
        raise errors.InvalidParameter(f"invalid image: {len(layers)} layers but {len(diff_ids)} diff IDs in the config")
    cids = remote.chain_ids(diff_ids)
    emit(status(f"Pulling from {ref.path}", ref.digest or ref.tag or "latest"))
    leased: list[str] = []
    todo: list[int] = []
    for i, desc in enumerate(layers):
        if remote.lease_layer(images, cids[i]):
            leased.append(cids[i])
            emit(status("Already exists", short(desc.digest)))
        else:
            todo.append(i)
            emit(status("Pulling fs layer", short(desc.digest)))
    for i in todo[ds.config.max_downloads:]:
        emit(status("Waiting", short(layers[i].digest)))

    cancel = threading.Event()
    done: dict[int, NewLayer] = {}
    lock = threading.Lock()

    def fetch(i: int) -> None:
        desc = layers[i]
        ident = short(desc.digest)
        meter = Meter(emit, "Downloading", ident, desc.size)
        reader = HashingReader(BlobReader(session, f"/v2/{repo}/blobs/{desc.digest}", scopes, desc.size,
                                          meter.add), cancel)
        parent = cids[i - 1] if i else None
        try:
            nl = remote.unpack_layer(images, reader, parent, diff_ids[i], desc.digest)  # type: ignore[arg-type]
        except Cancelled:
            raise
        except (errors.DockyardError, OSError) as e:
            if isinstance(e, errors.InvalidParameter):
                _drain(reader)
                if reader.complete and reader.digest != desc.digest:
                    raise errors.InvalidParameter(f"filesystem layer verification failed for digest {desc.digest}") from None
                if reader.complete:
                    raise errors.InvalidParameter(f"failed to register layer: {e}") from None
            raise
        finally:
            reader.raw.close()
        with lock:
            done[i] = nl  # one stored meanwhile by another pull comes back leased (pending None)
        if not reader.complete or reader.digest != desc.digest:
            raise errors.InvalidParameter(f"filesystem layer verification failed for digest {desc.digest}")
        emit(status("Verifying Checksum", ident))
        emit(status("Download complete", ident))
        emit({"status": "Extracting", "progressDetail": {"current": desc.size, "total": desc.size},
              "progress": meter_bar(desc.size), "id": ident})
        emit(status("Pull complete", ident))

    try:
        if todo:
            with ThreadPoolExecutor(ds.config.max_downloads, thread_name_prefix="pull") as pool:
                futures = [pool.submit(fetch, i) for i in todo]
                first: BaseException | None = None
                for fut in futures:
                    try:
                        fut.result()
                    except BaseException as e:  # noqa: BLE001 - stop the others, report the first
                        cancel.set()
                        if first is None and not isinstance(e, Cancelled):
                            first = e
                if first is not None:
                    raise first
        refs = _refs(ref, r.digest)
        image_id, updated = remote.commit_pulled(images, r.config, [done[i] for i in sorted(done)],
                                                 cids[-1] if cids else None, refs)
        remote.release(images, [nl.chain_id for nl in done.values() if nl.pending is None])
    except BaseException:
        remote.discard(images, list(done.values()))
        raise
    finally:
        remote.release(images, leased)
    for i, desc in enumerate(layers):
        ds.metadata.add(BlobSource(diff_ids[i], desc.digest, desc.media_type or mf.DOCKER_LAYER_GZIP, desc.size,
                                   ref.domain, repo))
    ds.metadata.add_manifest(r.manifest_digest, r.manifest.media_type, r.manifest_bytes, image_id, ref.name)
    emit(status(f"Digest: {r.digest}"))
    shown = ref.familiar() if ref.digest else ref.with_default_tag().familiar()
    emit(status(f"Status: {'Downloaded newer image' if updated else 'Image is up to date'} for {shown}"))
    return image_id


def meter_bar(total: int) -> str:
    from .progress import bar
    return bar(total, total)


def _drain(reader: HashingReader) -> None:
    try:
        while reader.read(1 << 20):
            pass
    except Exception:  # noqa: BLE001 - only to learn the digest; the first error is reported
        pass


def _refs(ref: Reference, digest: str) -> list[Reference]:
    digest_ref = Reference(ref.domain, ref.path, None, digest)
    if ref.digest:
        return [digest_ref]
    return [ref.with_default_tag(), digest_ref]
