import json

import pytest

from dockyard.distribution import manifests as mf
from dockyard.distribution.service import reference_for, registry_domain
from dockyard.errors import InvalidParameter, NotFound

D = "sha256:" + "a" * 64


def entry(arch, variant=None):
    p = {"os": "linux", "architecture": arch}
    if variant:
        p["variant"] = variant
    return mf.Descriptor(mf.OCI_MANIFEST, D, 1, p)


def test_select_platform():
    entries = [entry("amd64"), entry("arm", "v7"), entry("arm64")]
    assert mf.select_platform(entries, "linux", "arm64", "v8").platform["architecture"] == "arm64"
    assert mf.select_platform(entries, "linux", "arm", "v7").platform["variant"] == "v7"
    assert mf.select_platform(entries, "linux", "amd64", "").platform["architecture"] == "amd64"
    with pytest.raises(NotFound):
        mf.select_platform(entries, "linux", "s390x", "")


def test_media_types_and_parsing():
    m = json.dumps({"schemaVersion": 2, "config": {"mediaType": mf.OCI_CONFIG, "digest": D, "size": 2},
                    "layers": [{"mediaType": mf.OCI_LAYER_ZSTD, "digest": D, "size": 3}]}).encode()
    assert mf.media_type_of(m, None) == mf.OCI_MANIFEST
    parsed = mf.parse_manifest(m, mf.OCI_MANIFEST)
    assert parsed.layers[0].media_type == mf.OCI_LAYER_ZSTD
    assert mf.media_type_of(b'{"schemaVersion":1}', None) in mf.SCHEMA1
    with pytest.raises(InvalidParameter):
        mf.parse_manifest(b'{"config": {}, "layers": []}', mf.OCI_MANIFEST)
    with pytest.raises(InvalidParameter):
        mf.media_type_of(b"[]", None)


def test_reference_for():
    assert str(reference_for("busybox", "1.36")) == "docker.io/library/busybox:1.36"
    assert str(reference_for("h:5000/a/b", None)) == "h:5000/a/b"
    assert reference_for("busybox", D).digest == D


def test_registry_domain():
    assert registry_domain("https://index.docker.io/v1/") == "docker.io"
    assert registry_domain("127.0.0.1:5000") == "127.0.0.1:5000"
    assert registry_domain("http://Reg.Example:5000/") == "reg.example:5000"
    assert registry_domain("") == "docker.io"
