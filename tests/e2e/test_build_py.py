"""docker-py's images.build / APIClient.build with every parameter it sends, against dockyardd;
ADD of a URL served from loopback; --cache-from; a built image pushed to a real registry."""
from __future__ import annotations

import gzip
import http.server
import io
import shutil
import tarfile
import tempfile
import threading
import uuid
from pathlib import Path

import docker
import pytest

from tests.integration.distribution.goregistry import GoRegistry, have_tools


def _name() -> str:
    return f"dytest-pybuild-{uuid.uuid4().hex[:8]}"


def _tar(files: dict[str, bytes], gz: bool = False) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


@pytest.fixture()
def client(daemon):
    c = daemon.client()
    made: list[str] = []
    before = {x.id for x in c.containers.list(all=True)}
    c.made = made  # type: ignore[attr-defined]
    yield c
    for ref in reversed(made):  # children first
        try:
            c.images.remove(ref, force=True)
        except docker.errors.ImageNotFound:
            pass
    for x in c.containers.list(all=True):
        if x.id not in before:
            x.remove(force=True)
    mounts, cgroups = daemon.leftovers(set())
    assert not mounts and not cgroups


def test_build_with_every_parameter(client, tmp_path):
    tag, tag2 = _name(), _name()
    client.made += [tag, tag2]
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Custom.Dockerfile").write_text(
        "FROM busybox AS base\nARG WHO=nobody\nRUN echo \"hi $WHO\" > /who && grep -q myhost /etc/hosts\n"
        "FROM base AS final\nRUN df -k /dev/shm | tail -1 | awk '{print $2}' > /shm\n")
    image, logs = client.images.build(
        path=str(tmp_path), dockerfile="sub/Custom.Dockerfile", tag=tag, buildargs={"WHO": "py"},
        labels={"built.by": "docker-py"}, target="final", nocache=True, pull=False, rm=True,
        forcerm=True, network_mode="bridge", extra_hosts={"myhost": "10.9.8.7"}, shmsize=8 << 20,
        isolation="default", platform="linux/amd64", container_limits=None)
    assert tag + ":latest" in image.tags and image.labels == {"built.by": "docker-py"}
    assert any("Successfully built" in chunk.get("stream", "") for chunk in logs)
    out = client.containers.run(image.id, "cat /who /shm", remove=True)
    assert out == b"hi py\n8192\n"
    # quiet mode, all from the cache: the same image, its ID in the stream as docker-py reads it
    resp = list(client.api.build(path=str(tmp_path), dockerfile="sub/Custom.Dockerfile", tag=tag2,
                                 quiet=True, decode=True, buildargs={"WHO": "py"},
                                 labels={"built.by": "docker-py"}, extra_hosts={"myhost": "10.9.8.7"}))
    assert any(c.get("aux", {}).get("ID") == image.id for c in resp)
    assert {"stream": image.id + "\n"} in resp
    assert not any("Step" in c.get("stream", "") for c in resp)


def test_gzip_custom_context_and_errors(client):
    tag = _name()
    client.made.append(tag)
    ctx = _tar({"Dockerfile": b"FROM busybox\nCOPY f /f\nCMD [\"cat\", \"/f\"]\n", "f": b"gz\n"}, gz=True)
    image, _ = client.images.build(fileobj=ctx, custom_context=True, encoding="gzip", tag=tag)
    assert client.containers.run(image.id, remove=True) == b"gz\n"
    with pytest.raises(docker.errors.APIError, match="squash is only supported with experimental mode"):
        client.images.build(fileobj=_tar({"Dockerfile": b"FROM busybox\n"}), custom_context=True,
                            squash=True)
    with pytest.raises(docker.errors.APIError, match="Unsupported isolation"):
        client.images.build(fileobj=_tar({"Dockerfile": b"FROM busybox\n"}), custom_context=True,
                            isolation="hyperv")
    with pytest.raises(docker.errors.BuildError) as info:
        client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 3\n"), forcerm=True)
    assert info.value.msg == "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    last = list(info.value.build_log)[-1]
    assert last["errorDetail"] == {"message": info.value.msg, "code": 3}


def test_add_url_from_loopback(client, tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    (served / "payload.txt").write_text("from the web\n")
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **kw)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/payload.txt"
        df = f"FROM busybox\nADD {url} /dl/\nADD {url} /renamed\n".encode()
        image, _ = client.images.build(fileobj=io.BytesIO(df), network_mode="host")
        client.made.append(image.id)
        out = client.containers.run(image.id, "sh -c 'cat /dl/payload.txt /renamed; stat -c %a /renamed'",
                                    remove=True)
        assert out == b"from the web\nfrom the web\n600\n"
        missing = f"FROM busybox\nADD {url}.nope /x\n".encode()
        with pytest.raises(docker.errors.BuildError, match="404"):
            client.images.build(fileobj=io.BytesIO(missing))
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_cache_from_an_image_without_local_cache(client, daemon):
    tag = _name()
    client.made.append(tag)
    df = b"FROM busybox\nRUN echo layer > /layer\nENV X=1\n"
    image, _ = client.images.build(fileobj=io.BytesIO(df), tag=tag)
    saved = b"".join(client.images.get(tag).save(named=True))
    r = daemon.docker("builder", "prune", "-af")  # forget the local cache; the tagged image stays
    assert r.returncode == 0, r.stderr
    client.images.remove(tag)
    client.images.load(saved)  # as if pulled: no parent links, only its history
    _, logs = client.images.build(fileobj=io.BytesIO(df), cache_from=[tag])
    text = "".join(c.get("stream", "") for c in logs)
    assert text.count("Using cache") == 2 and "Running in" not in text, text
    _, logs = client.images.build(fileobj=io.BytesIO(df))
    assert "Using cache" in "".join(c.get("stream", "") for c in logs)


@pytest.mark.skipif(not have_tools(), reason="needs docker-registry (scripts/setup)")
def test_built_image_pushes_and_pulls_back(client, daemon):
    base = Path(tempfile.mkdtemp(prefix="dytest-reg-"))
    reg = GoRegistry(base).start()
    ref = f"{reg.host}/built:1"
    try:
        image, _ = client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN echo pushed > /p\nCMD cat /p\n"),
                                       tag=ref)
        r = daemon.docker("push", ref, timeout=120)
        assert r.returncode == 0, r.stderr
        client.images.remove(ref, force=True)
        r = daemon.docker("run", "--rm", ref, timeout=120)
        assert r.returncode == 0 and r.stdout == b"pushed\n", r.stderr
        client.made.append(ref)
        # --pull fetches the base again from the registry
        child, logs = client.images.build(fileobj=io.BytesIO(f"FROM {ref}\nRUN cat /p\n".encode()), pull=True)
        client.made.append(child.id)
        assert any("pushed" in c.get("stream", "") for c in logs)
    finally:
        reg.stop()
        shutil.rmtree(base, ignore_errors=True)
