"""skopeo (containers/image) as an independent client: copy in, inspect, copy out, verify digests."""
from __future__ import annotations

import json
import os
from pathlib import Path

import requests

from .conftest import Layout, RegistryProcess, manifest_digest, skopeo


def test_oci_layout_round_trip(registry: RegistryProcess, layout: Layout, tmp_path: Path) -> None:
    image = layout.image({"hello.txt": b"hello", "big.bin": os.urandom(2_000_000)})
    layout.tag(image, "v1")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{registry.host}/team/app:v1")
    info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/team/app:v1").stdout)
    assert info["Digest"] == image["digest"]  # the manifest arrived byte for byte
    assert info["RepoTags"] == ["v1"]
    raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{registry.host}/team/app:v1").stdout)
    assert raw["layers"][0]["digest"] == info["Layers"][0]
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/team/app:v1", f"oci:{out}:v1")
    index = json.loads((out / "index.json").read_text())
    assert index["manifests"][0]["digest"] == image["digest"]
    for layer in raw["layers"] + [raw["config"]]:
        algo, hexa = layer["digest"].split(":")
        assert (out / "blobs" / algo / hexa).read_bytes() == (layout.path / "blobs" / algo / hexa).read_bytes()
    # a second copy to another repository: skopeo mounts the blobs across repositories
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{registry.host}/team/app:v1", f"docker://{registry.host}/team/copy:v1")
    assert "mount=" in registry.log.read_text()
    assert manifest_digest(registry.url, "team/copy", "v1") == image["digest"]


def test_docker_archive_becomes_schema2(registry: RegistryProcess, layout: Layout, tmp_path: Path) -> None:
    layout.tag(layout.image({"a": b"docker archive layer"}), "v1")
    archive = tmp_path / "image.tar"
    skopeo("copy", f"oci:{layout.path}:v1", f"docker-archive:{archive}:demo:v1")
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{registry.host}/demo:v1")
    r = requests.get(f"{registry.url}/v2/demo/manifests/v1",
                     headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"}, timeout=30)
    assert r.headers["Content-Type"] == "application/vnd.docker.distribution.manifest.v2+json"
    skopeo("copy", "--src-tls-verify=false", f"docker://{registry.host}/demo:v1", f"docker-archive:{tmp_path / 'back.tar'}")
    assert (tmp_path / "back.tar").stat().st_size > 0


def test_multi_platform_index(registry: RegistryProcess, layout: Layout, tmp_path: Path) -> None:
    amd = layout.image({"arch": b"amd64"}, "amd64")
    arm = layout.image({"arch": b"arm64"}, "arm64")
    index = layout.multi([amd, arm])
    layout.tag(index, "multi")
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{layout.path}:multi", f"docker://{registry.host}/multi:v1")
    assert manifest_digest(registry.url, "multi", "v1") == index["digest"]
    for child in (amd, arm):
        assert manifest_digest(registry.url, "multi", child["digest"]) == child["digest"]
    out = tmp_path / "multi-out"
    skopeo("copy", "--all", "--src-tls-verify=false", f"docker://{registry.host}/multi:v1", f"oci:{out}:m")
    assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == index["digest"]


def test_tags_and_delete_through_skopeo(registry: RegistryProcess, layout: Layout) -> None:
    image = layout.image({"x": b"y"})
    layout.tag(image, "v1")
    for tag in ("a", "b", "c"):
        skopeo("copy", "--dest-tls-verify=false", f"oci:{layout.path}:v1", f"docker://{registry.host}/tags:{tag}")
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host}/tags").stdout)
    assert tags["Tags"] == ["a", "b", "c"]
    skopeo("delete", "--tls-verify=false", f"docker://{registry.host}/tags:a")
    r = requests.get(f"{registry.url}/v2/tags/tags/list", timeout=30)
    assert r.json()["tags"] == []  # deleting by digest removes every tag on it
