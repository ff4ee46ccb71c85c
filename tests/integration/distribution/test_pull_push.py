"""Pull and push against Debian's docker-registry with fixture images put there by skopeo."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dockyard import errors
from dockyard.distribution.auth import Credentials
from dockyard.images.reference import parse_normalized

from .goregistry import GoRegistry, docker_archive, oci_image, oci_layout, sha, tar_of

ANON = Credentials()
pytestmark = pytest.mark.root


def pull(env, name: str, tag: str | None = "latest", platform: str | None = None, creds: Credentials = ANON):
    msgs: list[dict] = []
    ids = env.dist.pull(name, tag, platform, creds, msgs.append)
    return ids[0], msgs


def statuses(msgs: list[dict]) -> list[str]:
    return [m.get("status", "") for m in msgs]


def push(env, name: str, tag: str | None = "latest", creds: Credentials = ANON) -> list[dict]:
    msgs: list[dict] = []
    env.dist.push(name, tag, creds, msgs.append)
    return msgs


def layers(n: int, size: int = 4096, seed: str = "x") -> list[bytes]:
    return [tar_of({f"f{seed}{i}": os.urandom(size), f"dir{i}/g": f"{seed}{i}".encode()}) for i in range(n)]


def put_schema2(reg: GoRegistry, tmp: Path, name: str, tars: list[bytes]) -> str:
    docker_archive(tmp / f"{name.replace('/', '_').replace(':', '_')}.tar", tars, "x:latest")
    reg.skopeo_copy(f"docker-archive:{tmp / (name.replace('/', '_').replace(':', '_') + '.tar')}", name)
    return sha(json.dumps(reg.inspect_raw(name)).encode())


def test_pull_schema2_records_tag_digest_and_skips_present_layers(env, registry, tmp_path):
    tars = layers(3)
    put_schema2(registry, tmp_path, "app:latest", tars)
    image_id, msgs = pull(env, f"{registry.host}/app")
    st = statuses(msgs)
    assert st[0] == "Pulling from app" and msgs[0]["id"] == "latest"
    assert st.count("Pull complete") == 3 and "Downloading" in st
    assert st[-1] == f"Status: Downloaded newer image for {registry.host}/app:latest"
    assert st[-2].startswith("Digest: sha256:")
    info = env.images.inspect(f"{registry.host}/app:latest")
    assert info["Id"] == image_id
    assert info["RootFS"]["Layers"] == [sha(t) for t in tars]
    assert info["RepoDigests"] == [f"{registry.host}/app@{st[-2].split()[1]}"]
    again, msgs = pull(env, f"{registry.host}/app")
    assert again == image_id
    assert statuses(msgs).count("Already exists") == 3
    assert statuses(msgs)[-1] == f"Status: Image is up to date for {registry.host}/app:latest"
    # A second image sharing the two base layers downloads only its own.
    put_schema2(registry, tmp_path, "app2:latest", tars[:2] + layers(1, seed="y"))
    _, msgs = pull(env, f"{registry.host}/app2")
    assert statuses(msgs).count("Already exists") == 2 and statuses(msgs).count("Pull complete") == 1
    assert env.leftovers() == []


def test_pull_by_digest(env, registry, tmp_path):
    put_schema2(registry, tmp_path, "bydigest:v1", layers(1))
    manifest = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                               f"docker://{registry.host}/bydigest:v1"], capture_output=True, check=True).stdout
    digest = sha(manifest)
    image_id, msgs = pull(env, f"{registry.host}/bydigest", digest)
    assert msgs[0]["id"] == digest
    assert env.images.resolve(f"{registry.host}/bydigest@{digest}") == image_id
    assert env.images.inspect(image_id)["RepoTags"] == []


def test_pull_oci_index_selects_platform(env, registry, tmp_path):
    root = tmp_path / "oci"
    amd = oci_image(root, layers(1, seed="amd"), "amd64")
    arm = oci_image(root, layers(1, seed="arm"), "arm64")
    oci_layout(root, [(amd.manifest, "amd64"), (arm.manifest, "arm64")], "multi")
    registry.skopeo_copy(f"oci:{root}:multi", "multi:latest", "--all")
    raw = registry.inspect_raw("multi:latest")
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    arm_id, _ = pull(env, f"{registry.host}/multi", platform="linux/arm64")
    assert arm_id == sha(arm.config)
    amd_id, msgs = pull(env, f"{registry.host}/multi", platform="linux/amd64")
    assert amd_id == sha(amd.config)
    assert env.images.inspect(f"{registry.host}/multi")["Architecture"] == "amd64"
    with pytest.raises(errors.NotFound, match="no matching manifest for linux/s390x"):
        pull(env, f"{registry.host}/multi", platform="linux/s390x")
    info = env.dist.inspect(f"{registry.host}/multi", ANON)
    assert {p["architecture"] for p in info["Platforms"]} == {"amd64", "arm64"}


@pytest.mark.parametrize("compression", ["zstd", "none", "gzip"])
def test_pull_oci_layer_compressions(env, registry, tmp_path, compression):
    root = tmp_path / "oci"
    tars = layers(2, seed=compression)
    img = oci_image(root, tars, "amd64", compression)
    oci_layout(root, [(img.manifest, "amd64")], "one")
    registry.skopeo_copy(f"oci:{root}:one", "comp:latest")
    image_id, _ = pull(env, f"{registry.host}/comp", platform="linux/amd64")
    assert image_id == sha(img.config)
    assert env.images.inspect(image_id)["RootFS"]["Layers"] == [sha(t) for t in tars]


def test_push_uploads_gzip_and_skopeo_reads_it(env, registry, tmp_path):
    tars = layers(2, size=100_000)
    docker_archive(tmp_path / "local.tar", tars, "local:latest")
    with open(tmp_path / "local.tar", "rb") as f:
        env.images.load(f)
    env.images.tag("local:latest", f"{registry.host}/pushed", "v1")
    msgs = push(env, f"{registry.host}/pushed", "v1")
    st = statuses(msgs)
    assert st[0] == f"The push refers to repository [{registry.host}/pushed]"
    assert st.count("Preparing") == 2 and st.count("Pushed") == 2
    assert any(m.get("status") == "Pushing" and m["progressDetail"]["total"] > 0 for m in msgs)
    aux = msgs[-1]["aux"]
    assert aux["Tag"] == "v1" and st[-2] == f"v1: digest: {aux['Digest']} size: {aux['Size']}"
    raw = registry.inspect_raw("pushed:v1")
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert [layer["mediaType"] for layer in raw["layers"]] == ["application/vnd.docker.image.rootfs.diff.tar.gzip"] * 2
    assert raw["config"]["digest"] == env.images.resolve("local:latest")
    assert f"{registry.host}/pushed@{aux['Digest']}" in env.images.inspect("local:latest")["RepoDigests"]
    # Again: every blob is already there; a sibling repository mounts them.
    assert statuses(push(env, f"{registry.host}/pushed", "v1")).count("Layer already exists") == 2
    env.images.tag("local:latest", f"{registry.host}/sibling", "v1")
    st = statuses(push(env, f"{registry.host}/sibling", "v1"))
    assert st.count("Mounted from pushed") == 2
    # What we pushed pulls back into a fresh store with the same image ID.
    env.images.remove("local:latest", True, False, lambda i: [])
    assert env.leftovers() == []


def test_push_all_tags_and_unknown_tag(env, registry, tmp_path):
    docker_archive(tmp_path / "a.tar", layers(1), "a:latest")
    with open(tmp_path / "a.tar", "rb") as f:
        env.images.load(f)
    for t in ("one", "two"):
        env.images.tag("a:latest", f"{registry.host}/many", t)
    st = statuses(push(env, f"{registry.host}/many", None))
    assert sum(s.endswith("size: 527") or ": digest: " in s for s in st) == 2
    with pytest.raises(errors.NotFound, match="An image does not exist locally with the tag"):
        push(env, f"{registry.host}/many", "three")


def test_htpasswd_basic_auth(env, tmp_path):
    reg = GoRegistry(tmp_path / "authreg", htpasswd=("alice", "s3cret")).start()
    try:
        put_schema2(reg, tmp_path, "private:latest", layers(1))
        with pytest.raises(errors.NotFound, match="pull access denied"):
            pull(env, f"{reg.host}/private")
        good = Credentials("alice", "s3cret", server=reg.host)
        assert env.dist.login(good)["Status"] == "Login Succeeded"
        with pytest.raises(errors.Unauthorized, match="401 Unauthorized"):
            env.dist.login(Credentials("alice", "wrong", server=reg.host))
        image_id, _ = pull(env, f"{reg.host}/private", creds=good)
        env.images.tag(image_id, f"{reg.host}/private2", "latest")
        push(env, f"{reg.host}/private2", "latest", creds=good)
        assert reg.inspect_raw("private2:latest")["config"]["digest"] == image_id
    finally:
        reg.stop()


def test_tls_with_certs_d(env, tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    reg = GoRegistry(tmp_path / "tlsreg", tls=(tmp_path / "server.crt", tmp_path / "server.key")).start()
    try:
        put_schema2(reg, tmp_path, "secure:latest", layers(1))
        # Served as localhost: not a loopback IP literal, so TLS must verify (localhost is insecure
        # by default like Docker; list no insecure registries and use the hostname with a custom CA).
        host = f"localhost:{reg.port}"
        env.reconfigure(certs_dirs=(tmp_path / "certs.d",))
        # An unknown CA fails verification when the host is not insecure... but localhost is:
        image_id, _ = pull(env, f"{host}/secure")
        assert image_id
        # A name that is not insecure: only the CA in certs.d makes TLS work.
        env.images.remove(image_id, True, False, lambda i: [])
        from dockyard.distribution.hosts import RegistryConfig
        cfg = RegistryConfig(certs_dirs=(tmp_path / "certs.d",))
        assert cfg.is_insecure(host)
        (tmp_path / "certs.d" / reg.host).mkdir(parents=True)
        ca.cert_pem.write_to_path(str(tmp_path / "certs.d" / reg.host / "ca.crt"))
        ctx = cfg.tls_context(reg.host)
        import socket
        import ssl
        with socket.create_connection(("127.0.0.1", reg.port)) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
                assert tls.version()
        with pytest.raises(ssl.SSLCertVerificationError):
            with socket.create_connection(("127.0.0.1", reg.port)) as s:
                RegistryConfig(certs_dirs=()).tls_context(reg.host).wrap_socket(s, server_hostname="127.0.0.1")
    finally:
        reg.stop()


def test_secure_registry_verifies_tls(env, tmp_path, monkeypatch):
    """A registry that is not insecure is reached over verified TLS only (CA from certs.d)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(tmp_path / "server.key"))
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "server.crt"))
    reg = GoRegistry(tmp_path / "tlsreg", tls=(tmp_path / "server.crt", tmp_path / "server.key")).start()
    try:
        put_schema2(reg, tmp_path, "secure:latest", layers(1))
        from dockyard.distribution import hosts
        monkeypatch.setattr(hosts, "_LOOPBACK", hosts.ipaddress.ip_network("127.255.255.255/32"))
        env.reconfigure(certs_dirs=(tmp_path / "certs.d",))
        with pytest.raises(errors.SystemFailure, match="x509"):
            pull(env, f"{reg.host}/secure")
        (tmp_path / "certs.d" / reg.host).mkdir(parents=True)
        ca.cert_pem.write_to_path(str(tmp_path / "certs.d" / reg.host / "ca.crt"))
        env.reconfigure(certs_dirs=(tmp_path / "certs.d",))
        image_id, _ = pull(env, f"{reg.host}/secure")
        assert image_id
    finally:
        reg.stop()


def test_corrupted_blob_in_registry_storage(env, registry, tmp_path):
    tars = layers(2, size=50_000)
    put_schema2(registry, tmp_path, "bad:latest", tars)
    raw = registry.inspect_raw("bad:latest")
    victim = registry.blob_path(raw["layers"][1]["digest"])
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(errors.DockyardError, match="verification failed|invalid tar|digest mismatch"):
        pull(env, f"{registry.host}/bad")
    assert env.images.list() == [] and env.leftovers() == []
    assert env.images.store.db.query("SELECT * FROM image_layers") == []


def test_registry_killed_mid_pull_then_retry(env, registry, tmp_path):
    big = [tar_of({"big": os.urandom(30_000_000)})]
    put_schema2(registry, tmp_path, "big:latest", big)
    import threading
    import time
    seen = threading.Event()

    def emit(m: dict) -> None:
        if m.get("status") == "Downloading":
            if not seen.is_set():
                seen.set()
                registry.stop()

    with pytest.raises(errors.DockyardError) as err:
        env.dist.pull(f"{registry.host}/big", "latest", None, ANON, emit)
    assert "connection refused" in err.value.message or "EOF" in err.value.message
    assert env.images.list() == [] and env.leftovers() == []
    registry.start()
    image_id, msgs = pull(env, f"{registry.host}/big")
    assert env.images.inspect(image_id)["RootFS"]["Layers"] == [sha(big[0])]
    assert env.leftovers() == []
