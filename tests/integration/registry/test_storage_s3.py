"""The S3 backend against moto's server mode on 127.0.0.1: the storage conformance suite, then a
registry process on S3 driven by skopeo."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.unit.registry.storage_suite import check_storage

from .conftest import Layout, RegistryProcess, free_port, manifest_digest, need, skopeo, stop, wait_port


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("boto3")
    binary = need("moto_server")
    port = free_port()
    log = tmp_path / "moto.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def _storage(endpoint: str, bucket: str):  # type: ignore[no-untyped-def]
    from dockyard.registry.storage.s3 import S3Storage
    return S3Storage(bucket, prefix="reg", endpoint=endpoint, access_key="test", secret_key="test",
                     create_bucket=True)


def test_s3_conformance(moto: str, tmp_path: Path) -> None:
    check_storage(_storage(moto, "conformance"), tmp_path)


def test_registry_on_s3(moto: str, start_registry: Callable[..., RegistryProcess], layout: Layout,
                        tmp_path: Path) -> None:
    reg = start_registry(f'''
[storage]
backend = "s3"
[storage.s3]
bucket = "registry"
prefix = "v2"
endpoint = "{moto}"
access_key = "test"
secret_key = "test"
create_bucket = true
''')
    image = layout.image({"s3": b"stored in S3" * 1000})
    layout.tag(image, "v1")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{reg.host}/ons3:v1")
    assert manifest_digest(reg.url, "ons3", "v1") == image["digest"]
    out = tmp_path / "s3-out"
    skopeo("copy", "--src-tls-verify=false", f"docker://{reg.host}/ons3:v1", f"oci:{out}:v1")
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == image["digest"]
    from dockyard.registry.storage.s3 import S3Storage
    stored = S3Storage("registry", prefix="v2", endpoint=moto, access_key="test", secret_key="test")
    assert len([k for k, _ in stored.walk("blobs")]) == 3  # config, layer, manifest: all in the bucket
    assert not (reg.root / "blobs").exists()  # nothing on the local root but upload staging
