"""Fixtures: a registry app served in-process (a thread with its own event loop) on 127.0.0.1, and
helpers to push blobs and manifests through the HTTP API."""
from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from dockyard.registry.app import RegistryApp
from dockyard.registry.server import serve
from dockyard.registry.storage.filesystem import FilesystemStorage
from dockyard.registry.store import RegistryStore
from dockyard.registry.uploads import Uploads

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class InProcessServer:
    """Runs an app on a free port in a thread; stop() cancels the server task and joins."""

    def __init__(self, app: Any, ssl_context: Any = None) -> None:
        self.app = app
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, args=(ssl_context,), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "registry did not start"

    def _run(self, ssl_context: Any) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop

        def ready(server: asyncio.AbstractServer) -> None:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()

        self._task = loop.create_task(serve(self.app, "127.0.0.1", 0, ssl_context, ready))
        try:
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


@dataclass
class Registry:
    url: str
    root: Path
    app: RegistryApp
    session: requests.Session

    def req(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, self.url + path, allow_redirects=False, timeout=30, **kw)

    def push_blob(self, name: str, data: bytes) -> str:
        d = digest(data)
        r = self.req("POST", f"/v2/{name}/blobs/uploads/?digest={d}", data=data)
        assert r.status_code == 201, r.text
        return d

    def push_manifest(self, name: str, ref: str, body: dict[str, Any] | bytes,
                      media_type: str = OCI_MANIFEST) -> requests.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.req("PUT", f"/v2/{name}/manifests/{ref}", data=raw, headers={"Content-Type": media_type})

    def push_image(self, name: str, tag: str | None = "latest", layers: int = 1, size: int = 1000,
                   extra: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Blobs + an OCI manifest; returns (manifest digest, manifest)."""
        import os
        config = json.dumps({"architecture": "amd64", "os": "linux", "nonce": os.urandom(8).hex()}).encode()
        cd = self.push_blob(name, config)
        descs = []
        for _ in range(layers):
            blob = os.urandom(size)
            descs.append({"mediaType": LAYER, "digest": self.push_blob(name, blob), "size": len(blob)})
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": len(config)}, "layers": descs,
                    **(extra or {})}
        raw = json.dumps(manifest).encode()
        r = self.push_manifest(name, tag or digest(raw), raw)
        assert r.status_code == 201, r.text
        return digest(raw), manifest


def make_app(root: Path, **kw: Any) -> RegistryApp:
    return RegistryApp(RegistryStore(FilesystemStorage(str(root), fsync=False)), Uploads(str(root), fsync=False),
                       str(root), **kw)


@pytest.fixture
def make_registry(tmp_path: Path) -> Iterator[Callable[..., Registry]]:
    servers: list[InProcessServer] = []

    def make(**kw: Any) -> Registry:
        root = tmp_path / f"root{len(servers)}"
        app = make_app(root, **kw)
        server = InProcessServer(app)
        servers.append(server)
        return Registry(f"http://127.0.0.1:{server.port}", root, app, requests.Session())

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def reg(make_registry: Callable[..., Registry]) -> Registry:
    return make_registry()


def error_code(r: requests.Response) -> str:
    return str(r.json()["errors"][0]["code"])
