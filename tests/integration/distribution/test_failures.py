"""Failure paths against a fake registry: bearer tokens, truncated and corrupted blobs, resume."""
from __future__ import annotations

import gzip
import json
import os

import pytest

from dockyard import errors
from dockyard.distribution.auth import Credentials

from .fakeregistry import FakeRegistry
from .goregistry import config_for, sha, tar_of

pytestmark = pytest.mark.root
SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"


def image(reg: FakeRegistry, repo: str = "app", size: int = 200_000) -> tuple[str, str, bytes]:
    tar = tar_of({"data": os.urandom(size)})
    blob = gzip.compress(tar, mtime=0)
    config = config_for([sha(tar)])
    manifest = json.dumps({"schemaVersion": 2, "mediaType": SCHEMA2,
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "size": len(config), "digest": sha(config)},
                           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                       "size": len(blob), "digest": sha(blob)}]}).encode()
    reg.add_image(repo, "latest", SCHEMA2, manifest, {sha(config): config, sha(blob): blob})
    return sha(config), sha(blob), blob


@pytest.fixture
def fake():
    reg = FakeRegistry().start()
    yield reg
    reg.stop()


def pull(env, host: str, creds: Credentials = Credentials()) -> tuple[str, list[dict]]:
    msgs: list[dict] = []
    return env.dist.pull(f"{host}/app", "latest", None, creds, msgs.append)[0], msgs


def test_truncated_download_is_resumed_with_range(env, fake):
    config_digest, blob_digest, blob = image(fake)
    fake.cut_after[blob_digest] = len(blob) // 3
    image_id, _ = pull(env, fake.host)
    assert image_id == config_digest
    ranged = [r for r in fake.requests if blob_digest in r]
    assert len(ranged) == 2
    assert env.leftovers() == []


def test_truncated_download_without_range_support_restarts_cleanly(env, fake):
    config_digest, blob_digest, blob = image(fake)
    fake.cut_after[blob_digest] = len(blob) // 2
    fake.ignore_range = True
    assert pull(env, fake.host)[0] == config_digest


def test_corrupted_blob_stores_nothing(env, fake):
    _, blob_digest, _ = image(fake)
    fake.corrupt.add(blob_digest)
    with pytest.raises(errors.DockyardError, match="verification failed|invalid tar|digest mismatch"):
        pull(env, fake.host)
    assert env.images.list() == [] and env.leftovers() == []
    assert not list((env.tmp / "root" / "content" / "blobs" / "sha256").iterdir()) or \
        all(p.name != blob_digest.split(":")[1] for p in (env.tmp / "root" / "content" / "blobs" / "sha256").iterdir())
    fake.corrupt.clear()
    assert pull(env, fake.host)[0]


def test_manifest_digest_is_verified(env, fake):
    image(fake)
    media, data = fake.manifests["app:latest"]
    digest = sha(data)
    fake.manifests[f"app:{digest}"] = (media, data.replace(b'"schemaVersion": 2', b'"schemaVersion":  2'))
    with pytest.raises(errors.InvalidParameter, match="manifest verification failed"):
        env.dist.pull(f"{fake.host}/app", digest, None, Credentials(), lambda m: None)



def test_bearer_token(env):
    reg = FakeRegistry(bearer=True, user="bob", password="pw").start()
    try:
        image(reg)
        with pytest.raises(errors.NotFound, match="pull access denied"):
            pull(env, reg.host)
        creds = Credentials("bob", "pw")
        image_id, _ = pull(env, reg.host, creds)
        assert image_id
        # One token for the repository scope, reused for the manifest, config and layer requests.
        scoped = [t for t in reg.token_requests if "scope=repository" in t and "account=bob" in t]
        assert len(scoped) == 1 and "account=bob" in scoped[0]
        assert env.dist.login(Credentials("bob", "pw", server=reg.host))["Status"] == "Login Succeeded"
        with pytest.raises(errors.Unauthorized):
            env.dist.login(Credentials("bob", "nope", server=reg.host))
    finally:
        reg.stop()


def test_unreachable_registry(env):
    from .goregistry import free_port
    with pytest.raises(errors.SystemFailure, match="connection refused"):
        env.dist.pull(f"127.0.0.1:{free_port()}/x", "latest", None, Credentials(), lambda m: None)


def test_mirror_serves_docker_hub_names(env, fake):
    config_digest, _, _ = image(fake, repo="library/busybox")
    env.reconfigure(mirrors=[f"http://{fake.host}"], certs_dirs=(env.tmp / "certs.d",))
    msgs: list[dict] = []
    ids = env.dist.pull("busybox", "latest", None, Credentials(), msgs.append)
    assert ids == [config_digest]
    assert msgs[-1]["status"] == "Status: Downloaded newer image for busybox:latest"
    assert msgs[0]["status"] == "Pulling from library/busybox"
    assert env.images.resolve("docker.io/library/busybox:latest") == config_digest
