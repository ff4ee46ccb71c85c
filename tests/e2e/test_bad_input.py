"""Bad input over the raw Engine API: clear 4xx answers, nothing stored or leaked, the daemon lives."""
from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.rawhttp import call, message

pytestmark = pytest.mark.e2e


def alive(d) -> None:
    status, body, _ = call(d, "GET", "/_ping", timeout=10)
    assert (status, body) == (200, b"OK")


def uname(prefix: str = "bad") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(d, name: str, cmd: list[str], image: str = "busybox") -> str:
    status, body, _ = call(d, "POST", f"/v1.41/containers/create?name={name}",
                           {"Image": image, "Cmd": cmd})
    assert status == 201, body
    return json.loads(body)["Id"]


def force_rm(d, ref: str) -> None:
    call(d, "DELETE", f"/v1.41/containers/{ref}?force=1")


def image_count(d) -> int:
    status, body, _ = call(d, "GET", "/v1.41/images/json?all=1")
    assert status == 200
    return len(json.loads(body))


def files_under(root: Path) -> set[str]:
    if not root.exists():
        return set()
    return {str(p) for p in root.rglob("*") if not p.is_dir()}


@pytest.fixture(autouse=True)
def _daemon_survives(daemon):
    yield
    alive(daemon)


# -- container create ------------------------------------------------------------------
def test_malformed_json_on_create_is_400(daemon):
    status, body, headers = call(daemon, "POST", "/v1.41/containers/create",
                                 b'{"Image": "busybox", "Cmd": [', {"Content-Type": "application/json"})
    assert status == 400, body
    assert headers["content-type"].startswith("application/json")
    assert message(body)


@pytest.mark.parametrize("payload", [
    {"Image": "busybox", "Cmd": 5},
    {"Image": "busybox", "Cmd": ["true"], "Env": "x"},
    {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Memory": "lots"}},
    {"Image": "busybox", "Cmd": ["true"], "Tty": "yes"},
    {"Image": 7, "Cmd": ["true"]},
    {"Image": "busybox", "Cmd": ["true"], "Labels": {"a": 5}},
    {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": "x", "Hard": 5}]}},
    {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Sysctls": {"net.ipv4.ip_forward": 1}}},
], ids=["cmd-int", "env-str", "memory-str", "tty-str", "image-int", "label-int", "ulimit-str",
        "sysctl-int"])
def test_wrong_field_type_on_create_is_400(daemon, payload):
    n = uname()
    try:
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/create?name={n}", payload)
        assert status == 400, body
        assert message(body)
    finally:
        force_rm(daemon, n)
    status, _, _ = call(daemon, "GET", f"/v1.41/containers/{n}/json")
    assert status == 404


def test_wrong_field_type_is_400_before_image_lookup(daemon):
    # Docker decodes the whole body first: a type error wins over a missing image
    status, body, _ = call(daemon, "POST", "/v1.41/containers/create",
                           {"Image": "nosuch", "HostConfig": {"Memory": "lots"}})
    assert status == 400, body
    assert "Memory" in message(body)


def test_bad_create_never_breaks_listing_for_go_clients(daemon):
    """Whatever a create accepted, `docker ps -a` (Go's strict decoder) must still read the list."""
    n = uname()
    try:
        call(daemon, "POST", f"/v1.41/containers/create?name={n}",
             {"Image": "busybox", "Cmd": ["true"], "Labels": {"a": 5, "b": None, "c": ["x"]}})
        p = daemon.docker("ps", "-a", "--format", "{{.Names}}")
        assert p.returncode == 0, p.stderr
    finally:
        force_rm(daemon, n)


def test_body_not_an_object_is_400(daemon):
    status, body, _ = call(daemon, "POST", "/v1.41/containers/create", b"[1, 2]",
                           {"Content-Type": "application/json"})
    assert status == 400, body
    assert message(body)


def test_missing_image_is_404(daemon):
    status, body, _ = call(daemon, "POST", "/v1.41/containers/create", {"Image": "nosuch", "Cmd": ["true"]})
    assert status == 404, body
    assert message(body) == "No such image: nosuch:latest"


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1.41/containers/{}/json"),
    ("POST", "/v1.41/containers/{}/start"),
    ("POST", "/v1.41/containers/{}/stop"),
    ("POST", "/v1.41/containers/{}/kill"),
    ("POST", "/v1.41/containers/{}/wait"),
    ("GET", "/v1.41/containers/{}/logs?stdout=1"),
    ("DELETE", "/v1.41/containers/{}"),
    ("GET", "/v1.41/containers/{}/export"),
], ids=["json", "start", "stop", "kill", "wait", "logs", "delete", "export"])
def test_missing_container_is_404(daemon, method, path):
    ref = "nosuch-" + uuid.uuid4().hex[:8]
    status, body, _ = call(daemon, method, path.format(ref), timeout=10)
    assert status == 404, body
    # Docker 20.10 prefixes only kill's message (checked against dockerd in tests/compat)
    prefix = f"Cannot kill container: {ref}: " if path.endswith("/kill") else ""
    assert message(body) == f"{prefix}No such container: {ref}"


def test_name_conflict_is_409(daemon):
    n = uname()
    try:
        cid = create(daemon, n, ["true"])
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/create?name={n}",
                               {"Image": "busybox", "Cmd": ["true"]})
        assert status == 409, body
        msg = message(body)
        assert f'"/{n}" is already in use by container "{cid}"' in msg
    finally:
        force_rm(daemon, n)


@pytest.mark.parametrize("bad", ["a", "-leading-dash", "has space", "sl/ash", "star*"])
def test_invalid_name_is_400(daemon, bad):
    from urllib.parse import quote

    status, body, _ = call(daemon, "POST", f"/v1.41/containers/create?name={quote(bad)}",
                           {"Image": "busybox", "Cmd": ["true"]})
    try:
        assert status == 400, body
        assert "Invalid container name" in message(body)
    finally:
        if status == 201:
            force_rm(daemon, json.loads(body)["Id"])


def _mountinfo_paths() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f]


def _cgroup_dirs(d, cid: str) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/{d.cgroup_parent}/{cid}") if p.exists()] + \
        [p for p in [Path("/sys/fs/cgroup") / d.cgroup_parent / cid] if p.exists()]


def test_command_not_found_fails_start_without_leaks(daemon):
    n = uname()
    try:
        cid = create(daemon, n, ["no-such-binary-xyz"])
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/start")
        assert status == 400, body
        assert "executable file not found in $PATH" in message(body)
        status, body, _ = call(daemon, "GET", f"/v1.41/containers/{cid}/json")
        state = json.loads(body)["State"]
        assert state["ExitCode"] == 127
        assert state["Running"] is False
        assert "executable file not found" in state["Error"]
        rootfs = str(daemon.data_root / "containers" / cid / "rootfs")
        assert not [p for p in _mountinfo_paths() if p == rootfs or p.startswith(rootfs + "/")]
        assert _cgroup_dirs(daemon, cid) == []
        # the container can be removed and the daemon keeps serving
        status, body, _ = call(daemon, "DELETE", f"/v1.41/containers/{cid}")
        assert status == 204, body
    finally:
        force_rm(daemon, n)


# -- image import / load ---------------------------------------------------------------
def _corrupt_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = os.urandom(100_000)
        ti = tarfile.TarInfo("file.bin")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    raw = bytearray(buf.getvalue())
    raw[148:156] = b"XXXXXXXX"           # break the first header's checksum
    raw = raw[:30_000]                    # and truncate inside the file data
    return bytes(raw)


def _truncated_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = os.urandom(200_000)
        ti = tarfile.TarInfo("file.bin")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()[:50_000]        # a good header, then the data stops


def _store_snapshot(d) -> tuple[int, set[str], set[str]]:
    return (image_count(d), files_under(d.data_root / "content"), files_under(d.data_root / "tmp"))


def _assert_import_rejected(d, path: str, payload: bytes) -> None:
    before = _store_snapshot(d)
    status, body, _ = call(d, "POST", path, payload, {"Content-Type": "application/x-tar"})
    text = body.decode(errors="replace")
    if status == 200:  # an error may also arrive in the progress stream, like Docker's
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        errs = [x for x in lines if "error" in x or "errorDetail" in x]
        pytest.fail(f"expected an HTTP error status, got 200 with {lines!r}" if not errs else
                    f"error only in the 200 stream: {errs!r}")
    assert 400 <= status < 600, text
    msg = message(body)
    assert msg and "internal error" not in msg and "Traceback" not in msg, msg
    time.sleep(0.2)
    assert _store_snapshot(d) == before


@pytest.mark.parametrize("payload", [_corrupt_tar(), _truncated_tar(), b"not a tar at all" * 100],
                         ids=["bad-checksum", "truncated", "garbage"])
def test_corrupt_tar_on_import(daemon, payload):
    _assert_import_rejected(daemon, f"/v1.41/images/create?fromSrc=-&repo={uname('imp')}", payload)


@pytest.mark.parametrize("payload", [_corrupt_tar(), _truncated_tar(), b"not a tar at all" * 100],
                         ids=["bad-checksum", "truncated", "garbage"])
def test_corrupt_tar_on_load(daemon, payload):
    _assert_import_rejected(daemon, "/v1.41/images/load", payload)


def test_client_disconnects_mid_body_on_import(daemon):
    before = _store_snapshot(daemon)
    repo = uname("cut")
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket)
    s.sendall((f"POST /v1.41/images/create?fromSrc=-&repo={repo} HTTP/1.1\r\nHost: d\r\n"
               "Content-Type: application/x-tar\r\nContent-Length: 50000000\r\n\r\n").encode())
    s.sendall(_truncated_tar())
    time.sleep(0.3)
    s.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        if files_under(daemon.data_root / "tmp") == before[2]:
            break
        time.sleep(0.1)
    assert _store_snapshot(daemon) == before
    status, _, _ = call(daemon, "GET", f"/v1.41/images/{repo}/json")
    assert status == 404


# -- lifecycle mistakes ----------------------------------------------------------------
def test_invalid_signal_on_kill_is_400(daemon):
    n = uname()
    try:
        cid = create(daemon, n, ["sleep", "30"])
        assert call(daemon, "POST", f"/v1.41/containers/{cid}/start")[0] == 204
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/kill?signal=SIGNOPE")
        assert status == 400, body
        assert "Invalid signal: SIGNOPE" in message(body)
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/kill?signal=999")
        assert status == 400, body
        status, body, _ = call(daemon, "GET", f"/v1.41/containers/{cid}/json")
        assert json.loads(body)["State"]["Running"] is True
    finally:
        force_rm(daemon, n)


def test_unknown_wait_condition_reads_not_running(daemon):
    """Docker 20.10 reads a condition it does not know as not-running: a created container's
    wait answers at once with its (zero) status."""
    n = uname()
    try:
        cid = create(daemon, n, ["true"])
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/wait?condition=whenever",
                               timeout=10)
        assert status == 200, body
        assert json.loads(body)["StatusCode"] == 0
    finally:
        force_rm(daemon, n)


def test_stop_stopped_and_start_started_are_304(daemon):
    n = uname()
    try:
        cid = create(daemon, n, ["sleep", "30"])
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/stop")
        assert status == 304, body
        assert body == b""
        assert call(daemon, "POST", f"/v1.41/containers/{cid}/start")[0] == 204
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/start")
        assert status == 304, body
        assert body == b""
        assert call(daemon, "POST", f"/v1.41/containers/{cid}/stop?t=0")[0] == 204
        status, body, _ = call(daemon, "POST", f"/v1.41/containers/{cid}/stop")
        assert status == 304, body
    finally:
        force_rm(daemon, n)


# -- protocol ---------------------------------------------------------------------------
def test_too_new_api_version_is_400(daemon):
    status, body, _ = call(daemon, "GET", "/v1.99/version")
    assert status == 400, body
    assert message(body) == "client version 1.99 is too new. Maximum supported API version is 1.41"


def test_unknown_path_is_404(daemon):
    for path in ("/v1.41/no/such/thing", "/no-such-endpoint"):
        status, body, _ = call(daemon, "GET", path)
        assert status == 404, body
        assert message(body) == "page not found"


def test_huge_header_is_rejected_cleanly(daemon):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(daemon.socket)
        req = (b"GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close as soon as the limit is passed
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        if data:
            status = int(data.split(b" ", 2)[1])
            assert 400 <= status < 500, data[:200]
    finally:
        s.close()
    # a large header under the limit is still served
    status, body, _ = call(daemon, "GET", "/_ping", headers={"X-Big": "b" * 8000})
    assert (status, body) == (200, b"OK")


def test_garbage_request_line_gets_400(daemon):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    try:
        s.connect(daemon.socket)
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        data = s.recv(4096)
        assert data.startswith(b"HTTP/1.1 400"), data
    finally:
        s.close()


def test_client_disconnects_while_following_logs(daemon):
    n = uname()
    try:
        cid = create(daemon, n, ["sh", "-c", "while true; do echo tick; sleep 0.1; done"])
        assert call(daemon, "POST", f"/v1.41/containers/{cid}/start")[0] == 204
        for _ in range(3):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(10)
            s.connect(daemon.socket)
            s.sendall(f"GET /v1.41/containers/{cid}/logs?stdout=1&follow=1 HTTP/1.1\r\nHost: d\r\n\r\n"
                      .encode())
            data = b""
            while data.count(b"tick") < 3:
                chunk = s.recv(4096)
                assert chunk, data
                data += chunk
            assert data.startswith(b"HTTP/1.1 200")
            s.close()
        time.sleep(0.5)
        status, body, _ = call(daemon, "GET", f"/v1.41/containers/{cid}/json")
        assert json.loads(body)["State"]["Running"] is True
        # a fresh non-follow read still works
        status, body, _ = call(daemon, "GET", f"/v1.41/containers/{cid}/logs?stdout=1&tail=2")
        assert status == 200 and body.count(b"tick") == 2
    finally:
        force_rm(daemon, n)
