"""Manifest endpoints: every media type, negotiation, bad input, tags and catalog pagination, referrers."""
from __future__ import annotations

import json

from dockyard.registry.manifests import MAX_MANIFEST

from .conftest import LAYER, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, Registry, digest, error_code

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def test_oci_manifest_by_tag_and_digest(reg: Registry) -> None:
    md, manifest = reg.push_image("app", "v1")
    for ref in ("v1", md):
        r = reg.req("GET", f"/v2/app/manifests/{ref}", headers={"Accept": OCI_MANIFEST})
        assert r.status_code == 200
        assert r.headers["Docker-Content-Digest"] == md
        assert r.headers["Content-Type"] == OCI_MANIFEST
        assert digest(r.content) == md
        h = reg.req("HEAD", f"/v2/app/manifests/{ref}")
        assert h.status_code == 200 and int(h.headers["Content-Length"]) == len(r.content)
    # the manifest is also readable as a blob of the repository
    assert digest(reg.req("GET", f"/v2/app/blobs/{md}").content) == md


def test_docker_schema2_and_manifest_list(reg: Registry) -> None:
    cfg = reg.push_blob("d", b'{"os":"linux"}')
    layer = reg.push_blob("d", b"layer")
    m = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
         "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cfg, "size": 14},
         "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 5}]}
    raw = json.dumps(m).encode()
    r = reg.push_manifest("d", digest(raw), raw, DOCKER_MANIFEST)
    assert r.status_code == 201, r.text
    lst = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": digest(raw), "size": len(raw),
         "platform": {"architecture": "amd64", "os": "linux"}}]}
    r = reg.push_manifest("d", "multi", lst, DOCKER_LIST)
    assert r.status_code == 201, r.text
    g = reg.req("GET", "/v2/d/manifests/multi", headers={"Accept": f"{DOCKER_MANIFEST}, {DOCKER_LIST}"})
    assert g.headers["Content-Type"] == DOCKER_LIST
    # a client that accepts only single-image manifests does not get the list
    n = reg.req("GET", "/v2/d/manifests/multi", headers={"Accept": DOCKER_MANIFEST})
    assert n.status_code == 404 and error_code(n) == "MANIFEST_UNKNOWN"


def test_oci_index_needs_its_children_in_the_repository(reg: Registry) -> None:
    md, m = reg.push_image("idx", None)
    size = len(json.dumps(m).encode())
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{"mediaType": OCI_MANIFEST, "digest": md, "size": size}]}
    assert reg.push_manifest("idx", "all", index, OCI_INDEX).status_code == 201
    r = reg.push_manifest("other", "all", index, OCI_INDEX)
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"


def test_bad_manifests_store_nothing(reg: Registry) -> None:
    cfg = reg.push_blob("bad", b"{}")
    missing = digest(b"missing layer")
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": OCI_CONFIG, "digest": cfg, "size": 2},
         "layers": [{"mediaType": LAYER, "digest": missing, "size": 13}]}
    r = reg.push_manifest("bad", "t", m)
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    assert r.json()["errors"][0]["detail"] == [{"digest": missing}]
    assert error_code(reg.push_manifest("bad", "t", b"{not json")) == "MANIFEST_INVALID"
    assert error_code(reg.push_manifest("bad", "t", {"schemaVersion": 1})) == "MANIFEST_INVALID"
    assert error_code(reg.push_manifest("bad", "t", {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                                     "config": {"digest": "nope"}})) == "MANIFEST_INVALID"
    mismatch = {**m, "layers": []}
    assert error_code(reg.push_manifest("bad", "t", mismatch, DOCKER_LIST)) == "MANIFEST_INVALID"
    ok = json.dumps({**m, "layers": []}).encode()
    r = reg.push_manifest("bad", digest(b"something else"), ok)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    big = b" " * (MAX_MANIFEST + 1)
    r = reg.push_manifest("bad", "t", big)
    assert r.status_code == 413 and error_code(r) == "MANIFEST_INVALID"
    r = reg.req("PUT", "/v2/bad/manifests/t", data=iter([b" " * (1024 * 1024)] * 5),
                headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 413
    assert error_code(reg.push_manifest("bad", "bad tag!", ok)) == "TAG_INVALID"
    assert reg.req("GET", "/v2/bad/tags/list").json()["tags"] == []
    assert not (reg.root / "repositories/bad/_manifests").exists()


def test_tags_pagination_and_link_header(reg: Registry) -> None:
    md, m = reg.push_image("p", "t0")
    raw = json.dumps(m).encode()
    names = [f"t{i}" for i in range(7)]
    for t in names[1:]:
        assert reg.push_manifest("p", t, raw).status_code == 201
    assert reg.req("GET", "/v2/p/tags/list").json() == {"name": "p", "tags": sorted(names)}
    seen, url = [], "/v2/p/tags/list?n=3"
    while url:
        r = reg.req("GET", url)
        seen += r.json()["tags"]
        link = r.headers.get("Link")
        url = link[1:link.index(">")] if link else ""
        assert not link or link.endswith('rel="next"')
    assert seen == sorted(names)
    assert reg.req("GET", "/v2/p/tags/list?n=2&last=t4").json()["tags"] == ["t5", "t6"]
    assert reg.req("GET", "/v2/p/tags/list?n=0").json()["tags"] == []
    assert error_code(reg.req("GET", "/v2/p/tags/list?n=-1")) == "PAGINATION_NUMBER_INVALID"
    assert error_code(reg.req("GET", "/v2/nope/tags/list")) == "NAME_UNKNOWN"


def test_catalog_is_paginated(reg: Registry) -> None:
    for name in ("a", "b/c", "b/d", "e"):
        reg.push_image(name, "x")
    assert reg.req("GET", "/v2/_catalog").json()["repositories"] == ["a", "b/c", "b/d", "e"]
    r = reg.req("GET", "/v2/_catalog?n=2")
    assert r.json()["repositories"] == ["a", "b/c"]
    assert r.headers["Link"] == '</v2/_catalog?last=b/c&n=2>; rel="next"'
    assert reg.req("GET", "/v2/_catalog?n=2&last=b/c").json()["repositories"] == ["b/d", "e"]


def test_referrers_api_and_subject(reg: Registry) -> None:
    subject_digest, subject = reg.push_image("r", "v1")
    subject_size = len(json.dumps(subject).encode())
    empty = reg.push_blob("r", b"{}")
    sig = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example.sig",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
           "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
           "annotations": {"k": "v"}}
    raw = json.dumps(sig).encode()
    r = reg.push_manifest("r", digest(raw), raw)
    assert r.status_code == 201 and r.headers["OCI-Subject"] == subject_digest
    sbom = {**sig, "artifactType": "application/vnd.example.sbom", "annotations": {}}
    raw2 = json.dumps(sbom).encode()
    assert reg.push_manifest("r", digest(raw2), raw2).status_code == 201
    idx = reg.req("GET", f"/v2/r/referrers/{subject_digest}")
    assert idx.status_code == 200 and idx.headers["Content-Type"] == OCI_INDEX
    body = idx.json()
    assert body["schemaVersion"] == 2 and body["mediaType"] == OCI_INDEX
    assert {d["digest"] for d in body["manifests"]} == {digest(raw), digest(raw2)}
    sig_desc = next(d for d in body["manifests"] if d["digest"] == digest(raw))
    assert sig_desc == {"mediaType": OCI_MANIFEST, "digest": digest(raw), "size": len(raw),
                        "artifactType": "application/vnd.example.sig", "annotations": {"k": "v"}}
    f = reg.req("GET", f"/v2/r/referrers/{subject_digest}?artifactType=application/vnd.example.sbom")
    assert f.headers["OCI-Filters-Applied"] == "artifactType"
    assert [d["digest"] for d in f.json()["manifests"]] == [digest(raw2)]
    # a subject that does not exist (yet) is fine; its referrers list is empty until then
    assert reg.req("GET", f"/v2/r/referrers/{digest(b'x')}").json()["manifests"] == []
    assert error_code(reg.req("GET", "/v2/r/referrers/sha256:nothex")) == "DIGEST_INVALID"
    assert reg.req("DELETE", f"/v2/r/manifests/{digest(raw)}").status_code == 202
    left = reg.req("GET", f"/v2/r/referrers/{subject_digest}").json()["manifests"]
    assert [d["digest"] for d in left] == [digest(raw2)]


def test_delete_manifest_by_digest_and_tag(reg: Registry) -> None:
    md, m = reg.push_image("del", "one")
    raw = json.dumps(m).encode()
    reg.push_manifest("del", "two", raw)
    assert reg.req("DELETE", "/v2/del/manifests/two").status_code == 202
    assert reg.req("GET", "/v2/del/tags/list").json()["tags"] == ["one"]
    assert reg.req("DELETE", f"/v2/del/manifests/{md}").status_code == 202
    assert error_code(reg.req("GET", "/v2/del/manifests/one")) == "MANIFEST_UNKNOWN"
    assert error_code(reg.req("GET", f"/v2/del/manifests/{md}")) == "MANIFEST_UNKNOWN"
    assert error_code(reg.req("DELETE", f"/v2/del/manifests/{md}")) == "MANIFEST_UNKNOWN"


def test_deletes_can_be_disabled(make_registry) -> None:  # type: ignore[no-untyped-def]
    reg = make_registry(delete_enabled=False)
    md, _ = reg.push_image("nd", "x")
    r = reg.req("DELETE", f"/v2/nd/manifests/{md}")
    assert r.status_code == 405 and error_code(r) == "UNSUPPORTED"
