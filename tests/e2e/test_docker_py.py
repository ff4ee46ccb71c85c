"""docker-py 7.1 against dockyardd: containers, images, errors and system calls, unchanged client.

Every container is named uniquely and removed in `finally`; the last test checks that nothing the
module made is left mounted under the data root or in the daemon's cgroup parent.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.e2e

FOREVER = ["sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.1; done']


def uname(prefix: str = "py") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


@pytest.fixture()
def cleanup(client):
    """Names of containers and images to remove however the test ends."""
    containers: list[str] = []
    images: list[str] = []
    yield containers, images
    for n in containers:
        try:
            client.api.remove_container(n, force=True)
        except docker.errors.NotFound:
            pass
    for ref in images:
        try:
            client.api.remove_image(ref, force=True)
        except docker.errors.ImageNotFound:
            pass


def rootfs_tar() -> bytes:
    from tests.support.daemon import busybox_rootfs_tar

    return busybox_rootfs_tar()


def import_image(client, repo: str, tag: str = "1") -> str:
    out = client.api.import_image_from_data(rootfs_tar(), repository=repo, tag=tag)
    statuses = [json.loads(line) for line in out.splitlines() if line.strip()]
    image_id = statuses[-1]["status"]
    assert image_id.startswith("sha256:") and len(image_id) == 71
    return image_id


# containers -------------------------------------------------------------------------------

def test_run_returns_output(client):
    assert client.containers.run("busybox", "echo hi", remove=True) == b"hi\n"


def test_run_remove_never_loses_output(client):
    """docker-py reads its follow-logs stream lazily, after wait and remove: the log file is
    already deleted then, so the daemon must keep reading the file it opened."""
    outputs = [client.containers.run("busybox", f"echo run{i}", remove=True) for i in range(30)]
    assert outputs == [f"run{i}\n".encode() for i in range(30)]


def test_run_stdout_stderr_selection(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    out = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], name=n,
                                stdout=False, stderr=True)
    assert out == b"err\n"


def test_run_failure_raises_container_error(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    with pytest.raises(docker.errors.ContainerError) as exc:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 4"], name=n)
    assert exc.value.exit_status == 4
    assert exc.value.stderr == b"bad\n"
    assert exc.value.container.name == n


def test_run_remove_really_removes(client):
    n = uname()
    assert client.containers.run("busybox", "true", name=n, remove=True) == b""
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(n)


def test_detached_lifecycle(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    c = client.containers.run("busybox", ["sh", "-c", "echo started; " + FOREVER[2]], name=n,
                              detach=True, environment={"A": "1"}, hostname="pyhost")
    assert c.name == n and len(c.id) == 64
    c.reload()
    assert c.status == "running"
    assert c.attrs["Config"]["Hostname"] == "pyhost" and "A=1" in c.attrs["Config"]["Env"]
    deadline = time.time() + 10
    while c.logs() != b"started\n" and time.time() < deadline:
        time.sleep(0.05)
    assert c.logs() == b"started\n"
    assert c.logs(stdout=False) == b""
    assert c.logs(timestamps=True).decode().endswith("Z started\n")
    c.stop(timeout=10)
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 0
    assert c.wait() == {"StatusCode": 0, "Error": None}
    c.start()
    c.reload()
    assert c.status == "running"
    c.kill()
    assert c.wait(timeout=30)["StatusCode"] == 137
    c.remove()
    with pytest.raises(docker.errors.NotFound):
        c.reload()


def test_wait_returns_exit_code(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    c = client.containers.run("busybox", ["sh", "-c", "sleep 0.5; exit 7"], name=n, detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 7
    c.reload()
    assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 7


def test_logs_stream_follows(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4; do echo t$i; sleep 0.2; done"],
                              name=n, detach=True)
    chunks = b"".join(c.logs(stream=True, follow=True))
    assert chunks == b"t1\nt2\nt3\nt4\n"


def test_remove_running_needs_force(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    c = client.containers.run("busybox", ["sleep", "100"], name=n, detach=True)
    with pytest.raises(docker.errors.APIError) as exc:
        c.remove()
    assert exc.value.status_code == 409
    c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(n)


def test_list_with_filters(client, cleanup):
    running, exited, created = uname(), uname(), uname()
    cleanup[0].extend([running, exited, created])
    client.containers.run("busybox", ["sleep", "100"], name=running, detach=True, labels={"suite": running})
    client.containers.run("busybox", "true", name=exited)
    client.containers.create("busybox", "true", name=created)

    assert running in {c.name for c in client.containers.list()}
    assert exited not in {c.name for c in client.containers.list()}
    everything = {c.name for c in client.containers.list(all=True)}
    assert {running, exited, created} <= everything
    assert [c.name for c in client.containers.list(all=True, filters={"name": exited})] == [exited]
    assert [c.name for c in client.containers.list(all=True, filters={"label": f"suite={running}"})] == [running]
    exited_names = {c.name for c in client.containers.list(all=True, filters={"status": "exited"})}
    assert exited in exited_names and running not in exited_names and created not in exited_names
    assert created in {c.name for c in client.containers.list(all=True, filters={"status": "created"})}
    by_id = client.containers.list(all=True, filters={"id": client.containers.get(running).id})
    assert [c.name for c in by_id] == [running]


def test_errors(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image-xyz:1", "true")
    with pytest.raises(docker.errors.NotFound) as exc:
        client.containers.get("no-such-container-xyz")
    assert exc.value.status_code == 404
    assert "No such container: no-such-container-xyz" in str(exc.value)
    client.containers.create("busybox", "true", name=n)
    with pytest.raises(docker.errors.APIError) as exc:
        client.containers.create("busybox", "true", name=n)
    assert exc.value.status_code == 409
    assert "is already in use" in exc.value.explanation
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image-xyz:1")


@pytest.fixture()
def empty_registry():
    """A registry on loopback that has no repositories: /v2/ answers, every manifest is unknown."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            if self.path.rstrip("/") == "/v2":
                self.send_response(200)
                body = b"{}"
            else:
                self.send_response(404)
                body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
            self.send_header("Content-Type", "application/json")
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = _answer

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_run_missing_image_raises(client, empty_registry):
    # Docker's answer for an unknown manifest is 404 "manifest for … not found", which
    # docker-py raises as NotFound (ImageNotFound only for "No such image" wording).
    with pytest.raises(docker.errors.NotFound, match="manifest for .*no-such-image-xyz:1 not found"):
        client.containers.run(f"{empty_registry}/no-such-image-xyz:1", "true", remove=True)


def test_exec_not_found_is_api_error(client, cleanup):
    n = uname()
    cleanup[0].append(n)
    with pytest.raises(docker.errors.APIError) as exc:
        client.containers.run("busybox", "nosuch", name=n)
    assert "executable file not found" in str(exc.value)


# images ----------------------------------------------------------------------------------

def test_images_list_get_tag_remove(client, cleanup):
    repo = uname("pytag")
    cleanup[1].append(f"{repo}:x")
    img = client.images.get("busybox")
    assert "busybox:latest" in img.tags and img.id.startswith("sha256:")
    assert img.id in {i.id for i in client.images.list()}
    assert img.tag(repo, "x") is True
    assert client.images.get(f"{repo}:x").id == img.id
    assert f"{repo}:x" in {t for i in client.images.list() for t in i.tags}
    assert [i.id for i in client.images.list(name=repo)] == [img.id]
    client.images.remove(f"{repo}:x")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(f"{repo}:x")
    assert client.images.get("busybox").id == img.id


def test_import_image_from_data(client, cleanup):
    repo = uname("pyimp")
    cleanup[1].append(f"{repo}:1")
    image_id = import_image(client, repo)
    img = client.images.get(f"{repo}:1")
    assert img.id == image_id and img.tags == [f"{repo}:1"]
    assert client.containers.run(f"{repo}:1", "echo imported", remove=True) == b"imported\n"


def test_save_load_roundtrip(client, cleanup):
    repo = uname("pysave")
    ref = f"{repo}:1"
    cleanup[1].append(ref)
    image_id = import_image(client, repo)
    chunks = list(client.images.get(ref).save(named=True))
    data = b"".join(chunks)
    assert len(data) > 1024 and data[257:262] == b"ustar"
    client.images.remove(ref)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(ref)
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [image_id]
    assert client.images.get(ref).id == image_id


def test_remove_image_in_use_conflicts(client, cleanup):
    repo, n = uname("pyuse"), uname()
    cleanup[0].append(n)
    cleanup[1].append(f"{repo}:1")
    image_id = import_image(client, repo)
    client.containers.create(f"{repo}:1", "true", name=n)
    with pytest.raises(docker.errors.APIError) as exc:
        client.images.remove(f"{repo}:1")
    assert exc.value.status_code == 409
    assert client.images.get(f"{repo}:1").id == image_id
    client.containers.get(n).remove()
    client.images.remove(f"{repo}:1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(image_id)


# system ----------------------------------------------------------------------------------

def test_version_ping_info(client):
    version = client.version()
    assert version["ApiVersion"] == "1.41"
    assert version["Os"] == "linux" and version["Version"]
    assert client.ping() is True
    info = client.info()
    assert info["OSType"] == "linux" and isinstance(info["Containers"], int)
    assert info["Images"] >= 1


def test_zz_no_leftover_mounts_or_cgroups(daemon, client):
    """Runs last in this module: only running containers may hold mounts and cgroups."""
    mounts, cgroups = daemon.leftovers({c.id for c in client.containers.list()})
    if mounts or cgroups:  # give asynchronous cleanup a moment, then judge
        time.sleep(2)
        mounts, cgroups = daemon.leftovers({c.id for c in client.containers.list()})
    assert mounts == [] and cgroups == []
