"""Interoperability with Debian's docker-registry (distribution 2.8): images copied between the two
registries by skopeo keep their digests both ways."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import Layout, RegistryProcess, free_port, manifest_digest, need, skopeo, stop, wait_port


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    binary = need("docker-registry")
    port = free_port()
    config = tmp_path / "distribution.yml"
    config.write_text(json.dumps({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "distribution")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"}}))
    log = tmp_path / "distribution.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc, log)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)


def test_copy_between_dockyard_and_docker_registry(registry: RegistryProcess, distribution: str,
                                                   layout: Layout) -> None:
    amd = layout.image({"a": b"amd64 bits"}, "amd64")
    arm = layout.image({"a": b"arm64 bits"}, "arm64")
    index = layout.multi([amd, arm])
    layout.tag(index, "multi")
    flags = ["--src-tls-verify=false", "--dest-tls-verify=false", "--all"]
    skopeo("copy", *flags[1:], f"oci:{layout.path}:multi", f"docker://{distribution}/src/img:v1")
    skopeo("copy", *flags, f"docker://{distribution}/src/img:v1", f"docker://{registry.host}/from-go/img:v1")
    assert manifest_digest(registry.url, "from-go/img", "v1") == index["digest"]
    skopeo("copy", *flags, f"docker://{registry.host}/from-go/img:v1", f"docker://{distribution}/back/img:v1")
    assert manifest_digest(f"http://{distribution}", "back/img", "v1") == index["digest"]
    for child in (amd, arm):
        assert manifest_digest(f"http://{distribution}", "back/img", child["digest"]) == child["digest"]
