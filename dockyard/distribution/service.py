"""DistributionService: what the API calls for pull, push, login and distribution inspect."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import errors
from ..images.config import parse_platform
from ..images.reference import Reference, parse_normalized
from ..images.service import ImageService
from ..images import remote
from . import download
from . import manifests as mf
from .auth import Credentials
from .hosts import DOCKER_HUB, INDEX_SERVER, RegistryConfig
from .metadata import Metadata
from .progress import Emit, status
from .pull import pull as pull_ref, read_manifest, _pull_error
from .push import Pusher, push_error
from .search import Search
from .transport import RegistryError, Session, Transport


def reference_for(image: str, tag: str | None) -> Reference:
    """fromImage + tag as the Engine API gives them; a tag may be a digest (`sha256:...`)."""
    ref = parse_normalized(image)
    if tag:
        if tag.startswith("sha256:"):
            ref = parse_normalized(f"{ref.name}@{tag}")
        else:
            ref = ref.with_tag(tag)
    return ref


def registry_domain(server: str) -> str:
    """`https://index.docker.io/v1/`, `127.0.0.1:5000`, `http://h:5000` -> the reference domain."""
    if not server:
        return DOCKER_HUB
    host = urlsplit(server).netloc if "://" in server else server.split("/", 1)[0]
    host = host.lower()
    if host in ("index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com"):
        return DOCKER_HUB
    return host


class DistributionService:
    """Blocking (call from worker threads); thread-safe."""

    def __init__(self, images: ImageService, config: RegistryConfig, tmp_dir: Path) -> None:
        self.images = images
        self.config = config
        self.tmp_dir = Path(tmp_dir)
        self.transport = Transport(config)
        self.metadata = Metadata(images.store.db)

    def close(self) -> None:
        self.transport.close()

    # -- sessions -----------------------------------------------------------------------
    def _session(self, domain: str, creds: Credentials, push: bool = False) -> Session:
        """The first endpoint of `domain` that answers /v2/ (https, then http if insecure)."""
        last: Exception | None = None
        for endpoint in self.config.endpoints(domain, push=push):
            if endpoint.mirror:
                continue
            session = self.transport.session(endpoint, creds)
            try:
                session.ping()
                return session
            except (errors.SystemFailure, RegistryError) as e:
                last = e
        assert last is not None
        if isinstance(last, RegistryError):
            raise errors.SystemFailure(f"error pinging {domain}: {last.detail}")
        raise last

    # -- pull -----------------------------------------------------------------------------
    def pull(self, image: str, tag: str | None, platform: str | None, creds: Credentials, emit: Emit) -> list[str]:
        ref = reference_for(image, tag)
        plat = parse_platform(platform)
        if not ref.name_only:
            return [pull_ref(self, ref, plat, creds, emit)]
        # No tag: every tag of the repository (docker pull --all-tags).
        session = self._session(ref.domain, creds)
        try:
            with session.request("GET", f"/v2/{ref.path}/tags/list", (f"repository:{ref.path}:pull",)) as resp:
                import json
                tags = sorted(json.loads(resp.read()).get("tags") or [])
        except RegistryError as e:
            raise _pull_error(ref, e) from None
        return [pull_ref(self, ref.with_tag(t), plat, creds, emit) for t in tags]

    # -- push -----------------------------------------------------------------------------
    def push(self, name: str, tag: str | None, creds: Credentials, emit: Emit) -> None:
        ref = parse_normalized(name)
        if ref.digest:
            raise errors.InvalidParameter("cannot push a digest reference")
        if tag:
            ref = ref.with_tag(tag)
        if ref.tag:
            target = self.images.store.ref_target(str(ref))
            if target is None:
                raise errors.NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
            tags = [(ref.tag, target)]
        else:
            tags = remote.tags_of_repo(self.images, ref.name)
            if not tags:
                raise errors.NotFound(f"An image does not exist locally with the tag: {ref.familiar_name}")
        emit(status(f"The push refers to repository [{ref.name}]"))
        try:
            session = self._session(ref.domain, creds, push=True)
            pusher = Pusher(self, session, Reference(ref.domain, ref.path), emit)
            for t, image_id in tags:
                pusher.push_tag(t, image_id)
        except (RegistryError, errors.DockyardError, OSError) as e:
            raise push_error(e) from None

    # -- login ----------------------------------------------------------------------------
    def login(self, creds: Credentials) -> dict[str, Any]:
        domain = registry_domain(creds.server or INDEX_SERVER)
        last: Exception | None = None
        for endpoint in self.config.endpoints(domain, push=True):
            session = self.transport.session(endpoint, creds)
            try:
                session.ping()
            except (errors.SystemFailure, RegistryError) as e:
                last = e
                continue
            if session.auth.challenge is None:
                return {"Status": "Login Succeeded", "IdentityToken": ""}
            try:
                with session.request("GET", "/v2/", ()):
                    pass
            except RegistryError as e:
                raise errors.Unauthorized(f"login attempt to {endpoint.base}/v2/ failed with status: "
                                          f"{e.status} {_reason(e.status)}") from None
            except errors.Unauthorized as e:
                raise errors.Unauthorized(f"Get \"{endpoint.base}/v2/\": {e.message}") from None
            return {"Status": "Login Succeeded", "IdentityToken": ""}
        assert last is not None
        if isinstance(last, RegistryError):
            raise errors.SystemFailure(last.detail)
        raise last

    # -- import from a URL --------------------------------------------------------------------
    def check_import_source(self, src: str) -> str:
        return download.normalize(src)

    def import_url(self, url: str, repo: str | None, tag: str | None, changes: list[str], message: str,
                   platform: str | None, emit: Emit) -> str:
        """`docker import URL`: download (with progress), then import as a tar body would be."""
        body = download.fetch(url, str(self.tmp_dir), emit)
        try:
            image_id = self.images.import_tar(body, repo, tag, changes, message, platform)  # type: ignore[arg-type]
        finally:
            body.close()
        emit({"status": image_id})
        return image_id

    # -- search -----------------------------------------------------------------------------
    def search(self, term: str, limit: int, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return Search(self.config, self.transport).search(term, limit, filters)

    # -- distribution inspect ---------------------------------------------------------------
    def inspect(self, name: str, creds: Credentials) -> dict[str, Any]:
        ref = parse_normalized(name).with_default_tag()
        session = self._session(ref.domain, creds)
        try:
            data, mt, digest = read_manifest(session, ref.path, ref.digest or ref.tag or "latest",
                                             (f"repository:{ref.path}:pull",))
        except RegistryError as e:
            raise _pull_error(ref, e) from None
        platforms: list[dict[str, Any]] = []
        if mt in mf.INDEXES:
            for d in mf.parse_index(data):
                if d.platform:
                    platforms.append({k: v for k, v in d.platform.items()})
        else:
            cfg_desc = mf.parse_manifest(data, mt).config
            from .pull import read_blob
            import json
            cfg = json.loads(read_blob(session, ref.path, cfg_desc, (f"repository:{ref.path}:pull",)))
            p = {"architecture": cfg.get("architecture", ""), "os": cfg.get("os", "")}
            if cfg.get("variant"):
                p["variant"] = cfg["variant"]
            platforms.append(p)
        return {"Descriptor": {"mediaType": mt, "digest": digest, "size": len(data)}, "Platforms": platforms}


def _reason(status: int) -> str:
    import http.client
    return http.client.responses.get(status, "")
