"""Debian's docker-registry (distribution 2.8) on loopback for tests and benchmarks, plus fixture
images built by hand (docker-archive and OCI layouts) and copied in with skopeo."""
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
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GoRegistry:
    """`docker-registry serve config.yml` on 127.0.0.1:<free port>; stopped by the PID we started."""

    def __init__(self, base: Path, htpasswd: tuple[str, str] | None = None,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.storage = self.base / "storage"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.htpasswd = htpasswd
        self.tls = tls
        self.proc: subprocess.Popen | None = None

    def _config(self) -> str:
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.storage}", "  delete:",
                 "    enabled: true", "http:", f"  addr: {self.host}"]
        if self.tls:
            lines += ["  tls:", f"    certificate: {self.tls[0]}", f"    key: {self.tls[1]}"]
        if self.htpasswd:
            user, password = self.htpasswd
            hashed = subprocess.run(["htpasswd", "-nbB", user, password], capture_output=True, check=True,
                                    text=True).stdout.strip()
            (self.base / "htpasswd").write_text(hashed + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: dockyard-test", f"    path: {self.base / 'htpasswd'}"]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20) -> "GoRegistry":
        cfg = self.base / "config.yml"
        cfg.write_text(self._config())
        log = open(self.base / "registry.log", "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=log, stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.base / "registry.log").read_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def blob_path(self, digest: str) -> Path:
        hexd = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def skopeo_copy(self, src: str, name: str, *extra: str) -> None:
        args = ["skopeo", "copy", "-q", "--dest-tls-verify=false", *extra, src, f"docker://{self.host}/{name}"]
        if self.htpasswd:
            args.insert(2, f"--dest-creds={self.htpasswd[0]}:{self.htpasswd[1]}")
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"skopeo copy failed: {r.stderr}")

    def inspect_raw(self, name: str) -> dict:
        args = ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{self.host}/{name}"]
        if self.htpasswd:
            args.insert(2, f"--creds={self.htpasswd[0]}:{self.htpasswd[1]}")
        return json.loads(subprocess.run(args, capture_output=True, check=True, timeout=60).stdout)


# -- fixture images ---------------------------------------------------------------------------
def tar_of(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode, ti.mtime = len(data), mode, 1700000000
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_for(diff_ids: list[str], arch: str = "amd64", cmd: list[str] | None = None) -> bytes:
    return json.dumps({"architecture": arch, "os": "linux", "created": "2024-01-01T00:00:00Z",
                       "config": {"Cmd": cmd or ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids},
                       "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {i}"}
                                   for i in range(len(diff_ids))]}).encode()


def docker_archive(path: Path, layers: list[bytes], tag: str = "fixture:latest", arch: str = "amd64") -> str:
    """A `docker save` tar of uncompressed layers; returns the config digest (the image ID)."""
    config = config_for([sha(t) for t in layers], arch)
    with tarfile.open(path, "w") as tf:
        def add(name: str, data: bytes) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        names = []
        for i, t in enumerate(layers):
            add(f"l{i}/layer.tar", t)
            names.append(f"l{i}/layer.tar")
        add("config.json", config)
        add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": [tag], "Layers": names}]).encode())
    return sha(config)


@dataclass
class OCIImage:
    manifest: bytes
    config: bytes


def _oci_blob(root: Path, data: bytes) -> str:
    d = sha(data)
    p = root / "blobs" / "sha256" / d.split(":")[1]
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return d


def oci_image(root: Path, layers: list[bytes], arch: str = "amd64", compression: str = "gzip") -> OCIImage:
    """Write config, layers and manifest blobs of one OCI image into layout `root`."""
    descs = []
    for t in layers:
        if compression == "gzip":
            blob, mt = gzip.compress(t, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
        elif compression == "zstd":
            import zstandard
            blob, mt = zstandard.ZstdCompressor().compress(t), "application/vnd.oci.image.layer.v1.tar+zstd"
        else:
            blob, mt = t, "application/vnd.oci.image.layer.v1.tar"
        descs.append({"mediaType": mt, "digest": _oci_blob(root, blob), "size": len(blob)})
    config = config_for([sha(t) for t in layers], arch, ["/bin/echo", arch])
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": _oci_blob(root, config), "size": len(config)},
                           "layers": descs}).encode()
    _oci_blob(root, manifest)
    return OCIImage(manifest, config)


def oci_layout(root: Path, entries: list[tuple[bytes, str]], tag: str) -> None:
    """index.json naming one manifest (or an index of several) under `tag`.

    `entries` are (manifest bytes, architecture); more than one makes a multi-platform index.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    if len(entries) == 1:
        top, mt = entries[0][0], "application/vnd.oci.image.manifest.v1+json"
    else:
        top = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                         "digest": sha(m), "size": len(m),
                                         "platform": {"os": "linux", "architecture": a}} for m, a in entries]}).encode()
        mt = "application/vnd.oci.image.index.v1+json"
        _oci_blob(root, top)
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": mt, "digest": sha(top), "size": len(top),
         "annotations": {"org.opencontainers.image.ref.name": tag}}]}))


def have_tools() -> bool:
    return all(shutil.which(t) for t in ("docker-registry", "skopeo", "htpasswd"))
