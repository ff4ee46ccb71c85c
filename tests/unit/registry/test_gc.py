"""Garbage collection: what is marked (tags, index children, configs, layers, subjects), grace, the lock."""
from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from dockyard.registry.errors import RegistryError
from dockyard.registry.gc import collect
from dockyard.registry.locking import WriteGuard, exclusive
from dockyard.registry.storage.filesystem import FilesystemStorage
from dockyard.registry.store import blob_key

from .conftest import OCI_INDEX, OCI_MANIFEST, Registry, digest


def _age_all_blobs(reg: Registry, seconds: float = 7200) -> None:
    past = time.time() - seconds
    for path in (reg.root / "blobs").rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def test_gc_keeps_everything_referenced_and_sweeps_the_rest(reg: Registry) -> None:
    md, m = reg.push_image("app", "v1", layers=2)
    raw = json.dumps(m).encode()
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{"mediaType": OCI_MANIFEST, "digest": md, "size": len(raw)}]}
    reg.push_manifest("app", "multi", index, OCI_INDEX)
    sig_cfg = reg.push_blob("app", b"{}")
    sig = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sig_cfg, "size": 2},
           "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": md, "size": len(raw)}}
    sraw = json.dumps(sig).encode()
    reg.push_manifest("app", digest(sraw), sraw)
    orphan = reg.push_blob("app", b"orphan layer")
    gone_md, gone_m = reg.push_image("tmp", "x")
    assert reg.req("DELETE", f"/v2/tmp/manifests/{gone_md}").status_code == 202
    _age_all_blobs(reg)
    storage = FilesystemStorage(str(reg.root))
    dry = collect(storage, str(reg.root), dry_run=True)
    assert orphan in dry.swept and storage.stat(blob_key(orphan)) is not None
    report = collect(storage, str(reg.root), uploads=reg.app.uploads)
    swept = set(report.swept)
    assert orphan in swept and gone_md in swept and gone_m["config"]["digest"] in swept
    for d in [md, m["config"]["digest"], *(layer["digest"] for layer in m["layers"]), digest(sraw), sig_cfg]:
        assert d not in swept
        assert reg.req("GET", f"/v2/app/blobs/{d}").status_code == 200
    assert reg.req("HEAD", f"/v2/app/blobs/{orphan}").status_code == 404  # link removed with the blob
    assert reg.req("GET", "/v2/app/manifests/multi").status_code == 200


def test_gc_grace_period_keeps_fresh_uploads(reg: Registry) -> None:
    fresh = reg.push_blob("p", b"uploaded just now, manifest not pushed yet")
    report = collect(FilesystemStorage(str(reg.root)), str(reg.root))
    assert fresh not in report.swept and report.kept_recent == 1
    assert reg.req("HEAD", f"/v2/p/blobs/{fresh}").status_code == 200


def test_delete_untagged(reg: Registry) -> None:
    old, _ = reg.push_image("u", "v1")
    new, _ = reg.push_image("u", "v1")  # retags v1: the old manifest is untagged now
    _age_all_blobs(reg)
    report = collect(FilesystemStorage(str(reg.root)), str(reg.root), delete_untagged=True)
    assert report.manifests_removed == [f"u@{old}"]
    assert old in report.swept and new not in report.swept
    assert reg.req("GET", "/v2/u/manifests/v1").headers["Docker-Content-Digest"] == new


def test_writes_wait_for_a_running_gc(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fd = exclusive(str(tmp_path))
    try:
        async def attempt() -> None:
            async with WriteGuard(str(tmp_path), timeout=0.2):
                pass
        with pytest.raises(RegistryError) as e:
            asyncio.run(attempt())
        assert e.value.code == "TOOMANYREQUESTS" and e.value.status == 429
    finally:
        os.close(fd)

    async def ok() -> None:
        async with WriteGuard(str(tmp_path), timeout=0.2):
            pass
    asyncio.run(ok())
