"""Fixtures: `dockyard registry serve` as a real process (free port on 127.0.0.1, stopped by pid),
Debian's docker-registry, moto's S3 server, OCI layouts made here, and skopeo."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen:\n{log.read_text()[-3000:]}")


@dataclass
class RegistryProcess:
    host: str          # 127.0.0.1:PORT
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., RegistryProcess]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(config: str | None = None, scheme: str = "http") -> RegistryProcess:
        port = free_port()
        root = tmp_path / f"registry{len(procs)}"
        log = tmp_path / f"registry{len(procs)}.log"
        argv = [sys.executable, "-m", "dockyard.registry.cli", "serve", "--listen", f"127.0.0.1:{port}",
                "--root", str(root), "--log-level", "debug"]
        if config is not None:
            cfg = tmp_path / f"registry{len(procs)}.toml"
            cfg.write_text(config)
            argv += ["--config", str(cfg)]
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO))
        procs.append(proc)
        wait_port(port, proc, log)
        return RegistryProcess(f"127.0.0.1:{port}", root, proc, log, scheme)

    yield start
    for p in procs:
        stop(p)


@pytest.fixture
def registry(start_registry: Callable[..., RegistryProcess]) -> RegistryProcess:
    return start_registry()


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (scripts/setup installs it)")
    return path


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    need("skopeo")
    proc = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed:\n{proc.stderr}")
    return proc


# --- OCI layouts made here ---------------------------------------------------------------

class Layout:
    """Writes an OCI image layout: blobs, manifests and an index.json with ref names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "blobs/sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.index: list[dict[str, Any]] = []

    def blob(self, data: bytes) -> dict[str, Any]:
        h = hashlib.sha256(data).hexdigest()
        (self.path / "blobs/sha256" / h).write_bytes(data)
        return {"digest": f"sha256:{h}", "size": len(data)}

    def image(self, files: dict[str, bytes], arch: str = "amd64") -> dict[str, Any]:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, content in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mtime = 1700000000
                tar.addfile(info, io.BytesIO(content))
        raw = buf.getvalue()
        layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                 **self.blob(gzip.compress(raw, 1, mtime=0))}
        config = {"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}
        cdesc = {"mediaType": "application/vnd.oci.image.config.v1+json", **self.blob(json.dumps(config).encode())}
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cdesc, "layers": [layer]}
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                **self.blob(json.dumps(manifest).encode()), "platform": {"architecture": arch, "os": "linux"}}

    def tag(self, descriptor: dict[str, Any], ref: str) -> None:
        entry = {k: v for k, v in descriptor.items() if k != "platform"}
        self.index.append({**entry, "annotations": {"org.opencontainers.image.ref.name": ref}})
        (self.path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.index}))

    def multi(self, children: list[dict[str, Any]]) -> dict[str, Any]:
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}
        return {"mediaType": "application/vnd.oci.image.index.v1+json", **self.blob(json.dumps(index).encode())}


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "layout")


def manifest_digest(url: str, name: str, ref: str, **kw: Any) -> str:
    accept = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"])
    r = requests.head(f"{url}/v2/{name}/manifests/{ref}", headers={"Accept": accept}, timeout=30, **kw)
    assert r.status_code == 200, r.status_code
    return str(r.headers["Docker-Content-Digest"])
