"""Bad input and faults of POST /build: clear errors (HTTP before the stream, in-stream after),
and nothing left behind: no container, mount, temp dir, half-built layer or cache record."""
from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import time
import urllib.parse
import uuid

import pytest

from tests.support.rawhttp import UnixConnection, call, message


def _tar(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
        for name, target in (links or {}).items():
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = tarfile.SYMTYPE, target
            tf.addfile(ti)
    return buf.getvalue()


def _messages(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def _clean(d) -> None:
    """What every fault must leave: no build temp dir, no build work, no mount, no cgroup."""
    tmp = d.data_root / "tmp"
    assert not [p for p in os.listdir(tmp) if p.startswith(("build-", "add-"))]
    mounts, cgroups = d.leftovers(set())
    assert not mounts and not cgroups


@pytest.fixture()
def containers_made(daemon):
    before = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split())
    made: list[str] = []
    yield made
    for cid in set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split()) - before:
        daemon.docker("rm", "-f", cid)
    for image in made:
        daemon.docker("rmi", "-f", image)


@pytest.mark.parametrize("dockerfile,status,words", [
    (b"FROM busybox\nRUN true\nBOGUS x\n", 400, "dockerfile parse error line 3: unknown instruction: BOGUS"),
    (b"FROM busybox\nENV\n", 400, "dockerfile parse error line 2: ENV requires at least one argument"),
    (b"", 400, "the Dockerfile (Dockerfile) cannot be empty"),
])
def test_errors_before_the_stream_are_http_errors(daemon, dockerfile, status, words):
    code, body, _ = call(daemon, "POST", "/v1.41/build", _tar({"Dockerfile": dockerfile}),
                         {"Content-Type": "application/x-tar"})
    assert code == status and message(body) == words
    _clean(daemon)


def test_request_errors(daemon):
    ctx = _tar({"Dockerfile": b"FROM busybox AS a\n"})
    for query, words in [("target=nope", "failed to reach build target nope in Dockerfile"),
                         ("dockerfile=missing.df", "Cannot locate specified Dockerfile: missing.df"),
                         ("squash=1", "squash is only supported with experimental mode"),
                         ("t=Bad:Tag", "invalid reference format: repository name must be lowercase")]:
        code, body, _ = call(daemon, "POST", f"/v1.41/build?{query}", ctx)
        assert code == 400 and message(body) == words, (query, body)
    code, body, _ = call(daemon, "POST", "/v1.41/build", b"")  # an empty context
    assert code == 400 and message(body) == "Cannot locate specified Dockerfile: Dockerfile"
    _clean(daemon)


@pytest.mark.parametrize("files,links", [
    ({"Dockerfile": b"FROM busybox\n", "../escape": b"x"}, None),
    ({"Dockerfile": b"FROM busybox\n"}, {"ln": "../../../../../../tmp", "ln/dytest-escape": "x"}),
])
def test_hostile_context_tars_are_refused(daemon, files, links):
    code, body, _ = call(daemon, "POST", "/v1.41/build", _tar(files, links))
    assert code == 400, body
    assert not os.path.lexists("/tmp/dytest-escape") and not os.path.lexists("/abs/escape")
    _clean(daemon)


def test_links_in_the_context_stay_inside_it(daemon, containers_made):
    ctx = _tar({"Dockerfile": b"FROM busybox\nCOPY up/passwd /x\n", "/abs/name": b"in"},
               {"up": "../../../../../../etc"})
    code, body, _ = call(daemon, "POST", "/v1.41/build", ctx)
    assert code == 200
    last = _messages(body)[-1]
    assert "file not found in build context" in last["error"]  # ../etc resolved inside the context
    assert not os.path.lexists("/abs/name")  # an absolute name lands inside the context, as in Docker
    _clean(daemon)


@pytest.mark.parametrize("dockerfile,words", [
    (b"FROM busybox\nCOPY nothere /x\n",
     "COPY failed: file not found in build context or excluded by .dockerignore: stat nothere: file does not exist"),
    (b"FROM busybox\nCOPY ../outside /x\n", "COPY failed: forbidden path outside the build context: ../outside ()"),
    (b"FROM busybox\nCOPY *.nomatch /x\n", "COPY failed: no source files were specified"),
    (b"FROM dytest-no-such-image\n", "127.0.0.1:9"),  # the pull of a missing base fails
    (b"FROM busybox AS one\nCOPY --from=two /x /y\nFROM busybox AS two\nCOPY --from=one /y /z\n",
     "invalid from flag value two"),
])
def test_step_errors_go_in_the_stream(daemon, dockerfile, words, containers_made):
    code, body, _ = call(daemon, "POST", "/v1.41/build", _tar({"Dockerfile": dockerfile}))
    msgs = _messages(body)
    assert code == 200 and msgs[0] == {"stream": "Step 1/" + msgs[0]["stream"].split("/", 1)[1]}
    assert words in msgs[-1]["error"] and msgs[-1]["errorDetail"]["message"] == msgs[-1]["error"]
    _clean(daemon)


def test_failing_run_keeps_its_container_unless_forcerm(daemon, containers_made):
    ctx = _tar({"Dockerfile": b"FROM busybox\nRUN echo out; exit 3\n"})
    before = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split())
    code, body, _ = call(daemon, "POST", "/v1.41/build", ctx)
    msgs = _messages(body)
    assert msgs[-1] == {"errorDetail": {"message": "The command '/bin/sh -c echo out; exit 3' returned a "
                                                   "non-zero code: 3", "code": 3},
                        "error": "The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3"}
    assert {"stream": "out\n"} in msgs
    kept = set(daemon.docker("ps", "-aq", "--no-trunc", "--filter", "status=exited").stdout.split()) - before
    assert len(kept) == 1  # Docker 20.10's classic builder keeps it for inspection
    code, body, _ = call(daemon, "POST", "/v1.41/build?forcerm=1", ctx)
    after = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split()) - before
    assert after == kept
    # and the docker CLI exits with the command's code
    r = daemon.docker("build", "--force-rm", "-", input=b"FROM busybox\nRUN exit 7\n")
    assert r.returncode == 7 and b"returned a non-zero code: 7" in r.stderr
    _clean(daemon)


def _start_build(sock: str, ctx: bytes, until: bytes) -> tuple[socket.socket, bytes]:
    conn = UnixConnection(sock, timeout=60)
    conn.connect()
    s = conn.sock
    s.sendall(b"POST /v1.41/build HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\n"
              + f"Content-Length: {len(ctx)}\r\n\r\n".encode() + ctx)
    seen = b""
    while until not in seen:
        chunk = s.recv(65536)
        assert chunk, seen
        seen += chunk
    return s, seen


def test_client_disconnect_cancels_and_cleans_up(daemon, containers_made):
    ctx = _tar({"Dockerfile": f"FROM busybox\nRUN echo {uuid.uuid4().hex} && sleep 60\n".encode()})
    before = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split())
    s, _ = _start_build(daemon.socket, ctx, b"Running in")
    s.close()
    deadline = time.time() + 30
    while time.time() < deadline:
        left = set(daemon.docker("ps", "-aq", "--no-trunc").stdout.split()) - before
        if not left:
            break
        time.sleep(0.2)
    assert not left, "the build's container outlived the client"
    _clean(daemon)


def test_daemon_killed_mid_build_leaves_nothing_used(fresh_daemon):
    d = fresh_daemon
    marker = uuid.uuid4().hex
    ctx = _tar({"Dockerfile": f"FROM busybox\nCOPY f /f\nRUN echo {marker} > /m && sleep 60\n".encode(),
                "f": b"x"})
    s, _ = _start_build(d.socket, ctx, b"Running in")
    d.kill()
    s.close()
    d.start()
    assert d.docker("ps", "-aq").stdout == b""  # the RUN container was removed at start-up
    _clean(d)
    code, body, _ = call(d, "POST", "/v1.41/build", _tar({
        "Dockerfile": b"FROM busybox\nCOPY f /f\nRUN test ! -e /m && echo fresh\n", "f": b"x"}))
    text = "".join(m.get("stream", "") for m in _messages(body))
    assert "fresh" in text and text.count("Using cache") == 1, text  # the COPY finished, the RUN did not


def test_system_df_and_builder_prune(daemon, containers_made):
    tag = f"dytest-prune-{uuid.uuid4().hex[:8]}"
    ctx = _tar({"Dockerfile": f"FROM busybox\nRUN echo {tag} > /f\n".encode()})
    code, body, _ = call(daemon, "POST", "/v1.41/build", ctx)  # untagged: all of it is reclaimable
    assert code == 200 and "Successfully built" in body.decode()
    df = daemon.client().api.df()
    assert {"LayersSize", "Images", "Containers", "Volumes", "BuildCache"} <= set(df)
    mine = [b for b in df["BuildCache"] if tag in b["Description"]]
    assert mine and mine[0]["Shared"] is False and mine[0]["Size"] > 0 and mine[0]["Type"] == "regular"
    r = daemon.docker("system", "df", "-v")
    assert r.returncode == 0 and b"Build cache usage" in r.stdout, r.stderr
    r = daemon.docker("builder", "prune", "-f")
    assert r.returncode == 0 and b"Total reclaimed space" in r.stdout, r.stderr
    assert not [b for b in daemon.client().api.df()["BuildCache"] if tag in b["Description"]]
    code, body, _ = call(daemon, "POST", "/v1.41/build", ctx)
    assert "Using cache" not in body.decode()  # pruned means rebuilt
    code, body, _ = call(daemon, "POST", "/v1.41/build/prune?filters=" + urllib.parse.quote(json.dumps({"bogus": ["x"]})))
    assert code == 400
