"""Pull, push and login through dockyardd with the real docker CLI and docker-py, against Debian's
docker-registry on loopback (fixture images put there by skopeo)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.distribution.goregistry import GoRegistry, docker_archive, have_tools, tar_of
from tests.support import daemon as support
from tests.support.daemon import busybox_rootfs_tar

pytestmark = pytest.mark.skipif(not have_tools(), reason="needs docker-registry, skopeo, htpasswd (scripts/setup)")


@pytest.fixture(scope="module", autouse=True)
def _forget_registry_images(daemon):
    """The session daemon is shared: untag what these tests pulled or pushed from loopback registries."""
    yield
    client = daemon.client()
    for image in client.images.list():
        for tag in image.tags:
            if tag.startswith("127.0.0.1:"):
                client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def registry():
    base = Path(tempfile.mkdtemp(prefix="dytest-reg-"))
    reg = GoRegistry(base).start()
    archive = base / "busybox.tar"
    docker_archive(archive, [busybox_rootfs_tar()], "busybox:latest")
    reg.skopeo_copy(f"docker-archive:{archive}", "busybox:latest")
    try:
        yield reg
    finally:
        reg.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def auth_registry():
    base = Path(tempfile.mkdtemp(prefix="dytest-authreg-"))
    reg = GoRegistry(base, htpasswd=("alice", "s3cret")).start()
    try:
        yield reg
    finally:
        reg.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_docker_pull_run_and_push(daemon, docker_cli, registry):
    ref = f"{registry.host}/busybox:latest"
    r = docker_cli("pull", ref, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "latest: Pulling from busybox" in out
    assert "Pull complete" in out or "Already exists" in out  # the session daemon imported busybox
    assert f"Status: Downloaded newer image for {ref}" in out
    r = docker_cli("pull", ref)
    assert f"Status: Image is up to date for {ref}" in r.stdout.decode()
    r = docker_cli("run", "--rm", ref, "echo", "pulled")
    assert r.stdout == b"pulled\n", r.stderr
    digests = json.loads(docker_cli("image", "inspect", ref).stdout)[0]["RepoDigests"]
    assert digests and digests[0].startswith(f"{registry.host}/busybox@sha256:")
    # Push a locally built layer under a new name: skopeo sees a schema2 manifest with our config.
    layer = tar_of({"hello.txt": os.urandom(300_000)})
    r = docker_cli("import", "-", f"{registry.host}/mine:v1", input=layer)
    assert r.returncode == 0, r.stderr
    r = docker_cli("push", f"{registry.host}/mine:v1", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Pushed" in r.stdout.decode() and "v1: digest: sha256:" in r.stdout.decode()
    raw = registry.inspect_raw("mine:v1")
    image_id = json.loads(docker_cli("image", "inspect", f"{registry.host}/mine:v1").stdout)[0]["Id"]
    assert raw["config"]["digest"] == image_id
    r = docker_cli("push", f"{registry.host}/mine:v1")
    assert "Layer already exists" in r.stdout.decode()


def test_docker_pull_errors(daemon, docker_cli, registry):
    r = docker_cli("pull", f"{registry.host}/nope:latest")
    assert r.returncode != 0
    assert f"manifest for {registry.host}/nope:latest not found" in r.stderr.decode()
    r = docker_cli("push", f"{registry.host}/never-tagged:v9")
    assert "An image does not exist locally with the tag" in r.stderr.decode()


def test_docker_py_pull_push(daemon, registry):
    client = daemon.client()
    image = client.images.pull(f"{registry.host}/busybox", tag="latest")
    assert f"{registry.host}/busybox:latest" in image.tags
    image.tag(f"{registry.host}/pyside", "t1")
    lines = list(client.images.push(f"{registry.host}/pyside", tag="t1", stream=True, decode=True))
    assert not any("error" in line for line in lines)
    assert lines[-1]["aux"]["Tag"] == "t1"
    import docker
    with pytest.raises(docker.errors.NotFound):
        client.images.pull(f"{registry.host}/missing", tag="latest")


def test_docker_login_then_push_and_pull(daemon, docker_cli, auth_registry):
    host = auth_registry.host
    r = docker_cli("login", host, "-u", "alice", "-p", "wrong")
    assert r.returncode != 0 and "401 Unauthorized" in r.stderr.decode()
    r = docker_cli("pull", f"{host}/busybox:latest")
    assert r.returncode != 0
    r = docker_cli("login", host, "-u", "alice", "--password-stdin", input=b"s3cret\n")
    assert r.returncode == 0, r.stderr
    assert "Login Succeeded" in r.stdout.decode()
    assert docker_cli("tag", "busybox", f"{host}/busybox:latest").returncode == 0
    r = docker_cli("push", f"{host}/busybox:latest", timeout=120)
    assert r.returncode == 0, r.stderr
    assert docker_cli("rmi", f"{host}/busybox:latest").returncode == 0
    r = docker_cli("pull", f"{host}/busybox:latest", timeout=120)
    assert r.returncode == 0, r.stderr
    docker_cli("logout", host)


def test_dockyard_cli_login_pull_push(daemon, auth_registry, tmp_path):
    host = auth_registry.host
    env_home = {"HOME": str(tmp_path)}
    run = lambda *a, **k: daemon.dockyard(*a, **k)  # noqa: E731
    os.environ["HOME"], old_home = str(tmp_path), os.environ.get("HOME")
    try:
        r = run("login", host, "-u", "alice", "-p", "nope")
        assert r.returncode != 0
        r = run("login", host, "-u", "alice", "-p", "s3cret")
        assert r.returncode == 0, r.stderr
        saved = json.loads((tmp_path / ".dockyard" / "config.json").read_text())
        assert host in saved["auths"] and saved["auths"][host]["auth"]
        assert daemon.docker("tag", "busybox", f"{host}/cli:v1").returncode == 0
        r = run("push", f"{host}/cli:v1", timeout=120)
        assert r.returncode == 0, r.stderr
        assert "v1: digest: sha256:" in r.stdout.decode()
        r = run("pull", f"{host}/cli:v1", timeout=120)
        assert r.returncode == 0, r.stderr
        assert "Image is up to date" in r.stdout.decode()
    finally:
        if old_home is not None:
            os.environ["HOME"] = old_home
    assert env_home


def test_registry_mirror_for_docker_hub_names(registry):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = support.TestDaemon(extra_config={"registry-mirrors": [f"http://{registry.host}"],
                                 "max-concurrent-downloads": 2})
    mirror_base = Path(tempfile.mkdtemp(prefix="dytest-mirror-"))
    try:
        # The mirror holds library/busybox, as a pull-through cache of Docker Hub would.
        archive = mirror_base / "bb.tar"
        docker_archive(archive, [busybox_rootfs_tar()], "busybox:latest")
        registry.skopeo_copy(f"docker-archive:{archive}", "library/busybox:latest")
        d.start()
        r = d.docker("pull", "busybox", timeout=120)
        assert r.returncode == 0, r.stderr
        assert "Status: Downloaded newer image for busybox:latest" in r.stdout.decode()
        info = json.loads(d.docker("info", "--format", "{{json .RegistryConfig.Mirrors}}").stdout)
        assert info == [f"http://{registry.host}"]
    finally:
        d.cleanup()
        shutil.rmtree(mirror_base, ignore_errors=True)
