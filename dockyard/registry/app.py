"""The registry's HTTP API: route table and handlers (parse, authorize, call the store, render).

Routes follow the OCI distribution spec v1.1 / Docker Registry HTTP API V2. Handlers raise
`RegistryError`; `__call__` renders it as the spec's JSON error body.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any, Awaitable, Callable, TypeVar
from urllib.parse import quote

from .. import mediatypes as mt
from . import manifests as mf
from .auth import Access, Anonymous, Authorizer
from .auth.token import TokenServer
from .errors import RegistryError
from .locking import WriteGuard
from .names import check_name, check_tag, digest_of, parse_digest
from .server import FileBody, Request, Response, reply
from .store import RegistryStore, blob_key
from .uploads import Upload, Uploads

log = logging.getLogger("dockyard.registry")
T = TypeVar("T")
JSON = "application/json"
MAX_PAGE = 10000

ROUTES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), h) for p, h in [
    (r"/v2/?", "base"),
    (r"/v2/_catalog", "catalog"),
    (r"/v1/search", "search"),
    (r"/v2/(?P<name>.+)/tags/list", "tags"),
    (r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)", "manifest"),
    (r"/v2/(?P<name>.+)/blobs/uploads/?", "upload_start"),
    (r"/v2/(?P<name>.+)/blobs/uploads/(?P<uuid>[^/]+)", "upload"),
    (r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)", "blob"),
    (r"/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)", "referrers"),
]]
ACTION = {"GET": "pull", "HEAD": "pull", "PUT": "push", "POST": "push", "PATCH": "push", "DELETE": "delete"}


def error_response(err: RegistryError) -> Response:
    return reply(err.status, [("Content-Type", JSON), *err.headers], err.body())


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None,
                  content_type: str = JSON) -> Response:
    return reply(status, [("Content-Type", content_type), *(headers or [])], json.dumps(obj).encode())


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """'bytes=a-b' | 'bytes=a-' | 'bytes=-n' -> (start, end inclusive); None if unsatisfiable."""
    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        if n == 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def paginate(items: list[str], request: Request, base: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The spec's n/last pagination, with a Link header to the next page."""
    raw_n = request.arg("n")
    last = request.arg("last")
    if last:
        items = [i for i in items if i > last]
    if raw_n is None or raw_n == "":
        return items, []
    if not raw_n.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", detail={"n": raw_n})
    n = min(int(raw_n), MAX_PAGE)
    page = items[:n]
    if len(items) > n and page:
        link = f'<{base}?last={quote(page[-1])}&n={n}>; rel="next"'
        return page, [("Link", link)]
    return page, []


class RegistryApp:
    def __init__(self, store: RegistryStore, uploads: Uploads, root: str, *,
                 authorizer: Authorizer | None = None, token_server: TokenServer | None = None,
                 delete_enabled: bool = True) -> None:
        self.store = store
        self.uploads = uploads
        self.root = root
        self.authorizer: Authorizer = authorizer or Anonymous()
        self.token_server = token_server
        self.delete_enabled = delete_enabled
        self.blocking = store.storage.blocking

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs a store call: inline for a local backend, in a worker thread for a remote one."""
        if self.blocking:
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    def guard(self) -> WriteGuard:
        return WriteGuard(self.root)

    async def __call__(self, request: Request) -> Response:
        try:
            response = await self.dispatch(request)
        except RegistryError as e:
            response = error_response(e)
        log.debug("%s %s %s -> %d", request.peer, request.method, request.target, response.status)
        return response

    async def dispatch(self, request: Request) -> Response:
        path = request.path
        if self.token_server is not None and path == "/auth/token" and request.method in ("GET", "HEAD"):
            return await self.token_server.handle(request)
        for pattern, handler in ROUTES:
            m = pattern.fullmatch(path)
            if m:
                params = m.groupdict()
                if "name" in params:
                    check_name(params["name"])
                method: Callable[..., Awaitable[Response]] = getattr(self, handler)
                return await method(request, **params)
        return reply(404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n")

    async def authorize(self, request: Request, name: str, *actions: str) -> None:
        await self.authorizer.authorize(request, [Access("repository", name, a) for a in actions])

    async def authorize_method(self, request: Request, name: str) -> None:
        action = ACTION.get(request.method)
        if action is None:
            raise RegistryError("UNSUPPORTED", detail={"method": request.method})
        await self.authorize(request, name, *(("pull", "push") if action == "push" else (action,)))

    # /v2/ --------------------------------------------------------------------------------
    async def base(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED")
        await self.authorizer.authorize(request, [])
        return json_response({})

    async def catalog(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED")
        await self.authorizer.authorize(request, [Access("registry", "catalog", "*")])
        repos = await self.io(self.store.repositories)
        page, link = paginate(repos, request, "/v2/_catalog")
        return json_response({"repositories": page}, headers=link)

    async def search(self, request: Request) -> Response:
        """The v1 search API that `docker search HOST/TERM` asks (Docker Hub's index speaks it;
        distribution's registry does not): repositories whose name contains the query."""
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED")
        await self.authorizer.authorize(request, [Access("registry", "catalog", "*")])
        query = (request.arg("q") or "").lower()
        raw_n = request.arg("n") or "25"
        n = min(int(raw_n), 100) if raw_n.isdigit() else 25
        found = [r for r in await self.io(self.store.repositories) if query in r.lower()][:n]
        results = [{"name": r, "description": "", "star_count": 0, "is_official": False,
                    "is_automated": False} for r in found]
        return json_response({"num_results": len(results), "query": query, "page_size": n,
                              "results": results})

    async def tags(self, request: Request, name: str) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED")
        await self.authorize(request, name, "pull")
        tags = await self.io(self.store.tags, name)
        if tags is None:
            raise RegistryError("NAME_UNKNOWN", detail={"name": name})
        page, link = paginate(tags, request, f"/v2/{name}/tags/list")
        return json_response({"name": name, "tags": page}, headers=link)

    # blobs -------------------------------------------------------------------------------
    async def blob(self, request: Request, name: str, digest: str) -> Response:
        await self.authorize_method(request, name)
        parse_digest(digest)
        if request.method == "DELETE":
            if not self.delete_enabled:
                raise RegistryError("UNSUPPORTED", "deletes are disabled in this registry")
            async with self.guard():
                if not await self.io(self.store.unlink_blob, name, digest):
                    raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
            return reply(202, [("Docker-Content-Digest", digest)])
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED")
        stat = await self.io(self.store.repo_blob, name, digest)
        if stat is None:
            raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
        size = stat.size
        headers = [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", digest),
                   ("ETag", f'"{digest}"'), ("Accept-Ranges", "bytes"), ("Cache-Control", "max-age=31536000")]
        status, start, count = 200, 0, size
        range_header = request.headers.get("range")
        if range_header:
            span = parse_range(range_header, size)
            if span is None:
                raise RegistryError("RANGE_INVALID", status=416, headers=[("Content-Range", f"bytes */{size}")])
            start, end = span
            status, count = 206, end - start + 1
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        if request.method == "HEAD":
            return reply(status, headers, length=count)
        path = self.store.storage.local_path(blob_key(digest))
        if path is not None:
            return reply(status, headers, file=FileBody(path, start, count))
        return reply(status, headers, stream=self._stream_blob(digest, start, count), length=count)

    async def _stream_blob(self, digest: str, start: int, count: int) -> Any:
        chunks = self.store.storage.read_range(blob_key(digest), start, count)
        sentinel = object()
        try:
            while True:
                chunk = await asyncio.to_thread(next, chunks, sentinel)
                if chunk is sentinel:
                    return
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    # uploads -----------------------------------------------------------------------------
    def _upload_headers(self, name: str, upload: Upload, size: int) -> list[tuple[str, str]]:
        return [("Location", f"/v2/{name}/blobs/uploads/{upload.uuid}"), ("Docker-Upload-UUID", upload.uuid),
                ("Range", f"0-{max(size - 1, 0)}")]

    def _created(self, name: str, digest: str) -> Response:
        return reply(201, [("Location", f"/v2/{name}/blobs/{digest}"), ("Docker-Content-Digest", digest)])

    async def _receive(self, upload: Upload, request: Request) -> int:
        """Appends the request body to the session; returns how many bytes came."""
        writer = self.uploads.writer(upload)
        ok = False
        try:
            async for chunk in request.stream():
                await writer.write(chunk)
            ok = True
        finally:
            await writer.close(ok)
        return writer.written

    async def _commit(self, name: str, upload: Upload, digest: str) -> Response:
        path = await asyncio.to_thread(self.uploads.finish, upload, digest)
        await self.io(self.store.commit_blob, name, digest, path)
        return self._created(name, digest)

    async def upload_start(self, request: Request, name: str) -> Response:
        if request.method != "POST":
            raise RegistryError("UNSUPPORTED")
        await self.authorize(request, name, "pull", "push")
        async with self.guard():
            mount = request.arg("mount")
            if mount:
                parse_digest(mount)
                source = request.arg("from")
                if await self._mountable(request, mount, source):
                    await self.io(self.store.link_blob, name, mount)
                    return self._created(name, mount)
            digest = request.arg("digest")
            if digest:
                parse_digest(digest)
                upload = self.uploads.create(name)
                try:
                    await self._receive(upload, request)
                    return await self._commit(name, upload, digest)
                except BaseException:
                    self.uploads.cancel(upload)
                    raise
            upload = self.uploads.create(name)
            return reply(202, self._upload_headers(name, upload, 0))

    async def _mountable(self, request: Request, digest: str, source: str | None) -> bool:
        if source:  # cross-repository mount: the client must be able to pull from the source
            check_name(source)
            try:
                await self.authorize(request, source, "pull")
            except RegistryError:
                return False
            return await self.io(self.store.repo_blob, source, digest) is not None
        # anonymous mount (OCI 1.1): any blob the registry holds; knowing its digest is the proof
        return await self.io(self.store.blob_stat, digest) is not None

    async def upload(self, request: Request, name: str, uuid: str) -> Response:
        await self.authorize_method(request, name)
        upload = self.uploads.get(name, uuid)
        if request.method == "GET":
            return reply(204, self._upload_headers(name, upload, upload.size()))
        if request.method == "DELETE":
            self.uploads.cancel(upload)
            return reply(204)
        if request.method not in ("PATCH", "PUT"):
            raise RegistryError("UNSUPPORTED")
        async with self.guard(), self.uploads.lock(upload):
            upload = self.uploads.get(name, uuid)  # it may have been finished or cancelled meanwhile
            size = upload.size()
            content_range = request.headers.get("content-range")
            if content_range and request.method == "PATCH":
                m = re.fullmatch(r"\s*(?:bytes[ =])?(\d+)-(\d+)(?:/(\d+|\*))?\s*", content_range)
                length = request.content_length
                if not m or int(m.group(1)) != size or int(m.group(2)) < int(m.group(1)) or \
                        (length is not None and int(m.group(2)) - int(m.group(1)) + 1 != length):
                    raise RegistryError("RANGE_INVALID", status=416, headers=self._upload_headers(name, upload, size),
                                        detail={"range": content_range, "size": size})
            if request.method == "PATCH":
                size += await self._receive(upload, request)
                return reply(202, self._upload_headers(name, upload, size))
            digest = request.arg("digest")
            if not digest:
                raise RegistryError("DIGEST_INVALID", "digest missing", detail={"digest": ""})
            parse_digest(digest)
            await self._receive(upload, request)
            return await self._commit(name, upload, digest)

    # manifests ---------------------------------------------------------------------------
    def _check_reference(self, reference: str) -> bool:
        """True for a digest, False for a tag; the spec's error for anything else."""
        if ":" in reference:
            parse_digest(reference)
            return True
        check_tag(reference)
        return False

    async def manifest(self, request: Request, name: str, reference: str) -> Response:
        await self.authorize_method(request, name)
        by_digest = self._check_reference(reference)
        if request.method in ("GET", "HEAD"):
            return await self._get_manifest(request, name, reference)
        if request.method == "PUT":
            return await self._put_manifest(request, name, reference, by_digest)
        if request.method == "DELETE":
            if not self.delete_enabled:
                raise RegistryError("UNSUPPORTED", "deletes are disabled in this registry")
            async with self.guard():
                fn = self.store.delete_manifest if by_digest else self.store.delete_tag
                if not await self.io(fn, name, reference):
                    raise RegistryError("MANIFEST_UNKNOWN", detail={"reference": reference})
            return reply(202)
        raise RegistryError("UNSUPPORTED")

    async def _get_manifest(self, request: Request, name: str, reference: str) -> Response:
        if request.method == "HEAD":
            head = await self.io(self.store.head_manifest, name, reference)
            found = (head[0], head[1], b"") if head else None
        else:
            found = await self.io(self.store.get_manifest, name, reference)
        if found is None:
            raise RegistryError("MANIFEST_UNKNOWN", detail={"name": name, "reference": reference})
        digest, info, raw = found
        media_type = info.get("mediaType", mt.OCI_MANIFEST)
        if not mf.accepts(request.headers.get("accept", ""), media_type):
            raise RegistryError("MANIFEST_UNKNOWN", f"manifest of type {media_type} not acceptable by the client",
                                detail={"mediaType": media_type})
        headers = [("Content-Type", media_type), ("Docker-Content-Digest", digest), ("ETag", f'"{digest}"')]
        if request.method == "HEAD":
            return reply(200, headers, length=int(info.get("size", 0)))
        return reply(200, headers, raw)

    async def _put_manifest(self, request: Request, name: str, reference: str, by_digest: bool) -> Response:
        length = request.content_length
        too_big = RegistryError("MANIFEST_INVALID", "manifest too big", status=413,
                                detail={"limit": mf.MAX_MANIFEST})
        if length is not None and length > mf.MAX_MANIFEST:
            raise too_big
        try:
            raw = await request.read(mf.MAX_MANIFEST)
        except OverflowError:
            raise too_big from None
        manifest = mf.parse(raw, request.headers.get("content-type", ""))
        if by_digest:
            algorithm, _ = parse_digest(reference)
            digest = digest_of(raw, algorithm)
            if digest != reference:
                raise RegistryError("DIGEST_INVALID", detail={"expected": reference, "actual": digest})
        else:
            digest = digest_of(raw)
        async with self.guard():
            missing = await self.io(self._missing, name, manifest)
            if missing:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", detail=[{"digest": d} for d in missing])
            await self.io(self.store.put_manifest, name, digest, raw, manifest, None if by_digest else reference)
        headers = [("Location", f"/v2/{name}/manifests/{digest}"), ("Docker-Content-Digest", digest)]
        if manifest.subject is not None:
            headers.append(("OCI-Subject", manifest.subject["digest"]))
        return reply(201, headers)

    def _missing(self, name: str, manifest: mf.Manifest) -> list[str]:
        missing = [d for d in manifest.blobs if self.store.repo_blob(name, d) is None]
        missing += [d for d in manifest.children if self.store.manifest_info(name, d) is None]
        return missing

    # referrers (OCI 1.1) -----------------------------------------------------------------
    async def referrers(self, request: Request, name: str, digest: str) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise RegistryError("UNSUPPORTED")
        await self.authorize(request, name, "pull")
        parse_digest(digest)
        found = await self.io(self.store.referrers, name, digest)
        headers = []
        artifact_type = request.arg("artifactType")
        if artifact_type:
            found = [d for d in found if d.get("artifactType") == artifact_type]
            headers.append(("OCI-Filters-Applied", "artifactType"))
        found.sort(key=lambda d: d["digest"])
        return json_response({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": found},
                             headers=headers, content_type=mt.OCI_INDEX)
