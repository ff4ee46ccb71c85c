"""The daemon process itself: socket, ping/version, daemon.json, single instance, a free event loop."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.support import daemon as support
from tests.support.daemon import REPO, _ping

from tests.support.rawhttp import UnixConnection, call, message

pytestmark = pytest.mark.e2e


SWARM_MSG = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" '
             "to connect this node to swarm and try again.")


def _raw(sock_path: str, request: bytes, timeout: float = 10) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk
        if not request.startswith(b"HEAD "):  # then the body, as long as Content-Length says
            want = int(_headers(data).get("content-length", "0"))
            while len(data.split(b"\r\n\r\n", 1)[1]) < want:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data
    finally:
        s.close()


def _headers(head: bytes) -> dict[str, str]:
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def _dockyardd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dockyard.daemon.main", *args]


# -- socket and basic endpoints ---------------------------------------------------------
def test_socket_mode_and_owner(daemon):
    st = os.stat(daemon.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_uid == 0


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_ping_answers_with_api_version(daemon, method):
    data = _raw(daemon.socket, f"{method} /_ping HTTP/1.1\r\nHost: d\r\n\r\n".encode())
    assert data.startswith(b"HTTP/1.1 200"), data
    h = _headers(data)
    assert h["api-version"] == "1.41"
    assert h.get("ostype") == "linux"
    if method == "GET":
        assert data.split(b"\r\n\r\n", 1)[1] == b"OK"


def test_versioned_ping(daemon):
    status, body, headers = call(daemon, "GET", "/v1.41/_ping")
    assert (status, body, headers["api-version"]) == (200, b"OK", "1.41")


@pytest.mark.parametrize("path", ["/version", "/v1.41/version", "/v1.24/version"])
def test_version_with_and_without_prefix(daemon, path):
    status, body, headers = call(daemon, "GET", path)
    assert status == 200, body
    v = json.loads(body)
    assert v["ApiVersion"] == "1.41" and v["MinAPIVersion"] == "1.12"
    assert v["Os"] == "linux" and v["Version"]
    assert headers["api-version"] == "1.41"


def test_docker_cli_version(daemon):
    p = daemon.docker("version", "--format", "{{.Server.APIVersion}}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip() == "1.41"


@pytest.mark.parametrize("method,path,msg", [
    ("GET", "/swarm", SWARM_MSG),
    ("GET", "/nodes", SWARM_MSG),
    ("GET", "/services", SWARM_MSG),
    ("GET", "/v1.41/tasks", SWARM_MSG),
    ("GET", "/v1.41/secrets", SWARM_MSG),
    ("GET", "/v1.41/configs", SWARM_MSG),
    ("POST", "/swarm/leave", "This node is not part of a swarm"),
    ("POST", "/v1.41/swarm/leave?force=1", "This node is not part of a swarm"),
])
def test_swarm_endpoints_answer_503(daemon, method, path, msg):
    status, body, _ = call(daemon, method, path)
    assert status == 503, body
    assert message(body) == msg


def test_docker_py_swarm_cleanup_path(daemon):
    import docker.errors

    client = daemon.client()
    try:
        with pytest.raises(docker.errors.APIError) as e:
            client.swarm.leave()
        assert e.value.status_code == 503
        assert client.swarm.leave(force=True) is True  # docker-py's clean-up path accepts the 503
    finally:
        client.close()


# -- daemon.json ---------------------------------------------------------------------------
class _ManualDaemon(support.TestDaemon):
    """A TestDaemon started without --data-root: daemon.json decides it."""

    def start_with(self, config: dict, timeout: float = 30) -> None:
        self.config_file.write_text(json.dumps(config))
        self.start(timeout, _dockyardd("-H", self.host, "--exec-root", str(self.exec_root),
                                       "--config-file", str(self.config_file)))


def test_config_file_sets_data_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = _ManualDaemon()
    try:
        other = d.base / "other-root"
        # everything else as any test daemon has it: its own cgroup parent, links and nft table
        config = {**json.loads(d.config_file.read_text()), "data-root": str(other)}
        d.start_with(config)
        status, body, _ = call(d, "GET", "/v1.41/info")
        assert status == 200, body
        assert json.loads(body)["DockerRootDir"] == str(other)
        assert (other / "metadata.db").exists() or any(other.iterdir())
        assert not d.data_root.exists()
        p = d.docker("info", "--format", "{{.DockerRootDir}}")
        assert p.stdout.decode().strip() == str(other), p.stderr
    finally:
        d.cleanup()


@pytest.mark.parametrize("content,needle", [
    ('{"data-root": ', "unable to configure the daemon"),
    ("[1, 2]", "unable to configure the daemon"),
    ('{"data-root": 5}', "data-root"),
    ('{"hosts": "unix:///tmp/x.sock"}', "hosts"),
], ids=["truncated", "not-object", "wrong-type", "hosts-not-list"])
def test_broken_config_file_exits_nonzero(tmp_path, content, needle):
    cfg = tmp_path / "daemon.json"
    cfg.write_text(content)
    p = subprocess.run(
        _dockyardd("-H", f"unix://{tmp_path}/d.sock", "--data-root", str(tmp_path / "data"),
                   "--exec-root", str(tmp_path / "exec"), "--config-file", str(cfg)),
        capture_output=True, timeout=30, cwd=REPO)
    err = p.stderr.decode()
    assert p.returncode != 0, err
    assert needle in err, err
    assert "Traceback" not in err, err
    assert not (tmp_path / "exec" / "supervisor.sock").exists(), "no supervisor for a daemon that never ran"


def test_missing_config_file_exits_nonzero(tmp_path):
    p = subprocess.run(
        _dockyardd("-H", f"unix://{tmp_path}/d.sock", "--data-root", str(tmp_path / "data"),
                   "--exec-root", str(tmp_path / "exec"), "--config-file", str(tmp_path / "nope.json")),
        capture_output=True, timeout=30, cwd=REPO)
    assert p.returncode != 0
    assert "does not exist" in p.stderr.decode()


# -- single instance -----------------------------------------------------------------------
def test_second_daemon_on_same_socket_refuses(fresh_daemon):
    d = fresh_daemon
    n = f"dmn-{uuid.uuid4().hex[:8]}"
    try:
        p = d.docker("run", "-d", "--name", n, "busybox", "sleep", "60")
        assert p.returncode == 0, p.stderr
        pid = json.loads(d.docker("inspect", n).stdout)[0]["State"]["Pid"]
        # the same roots and socket, as a second `dockyardd` with the same flags would use
        p = subprocess.run(
            _dockyardd("-H", d.host, "--data-root", str(d.data_root), "--exec-root", str(d.exec_root),
                       "--config-file", str(d.config_file)),
            capture_output=True, timeout=60, cwd=REPO)
        err = p.stderr.decode()
        assert p.returncode != 0, err
        assert d.socket in err and "Traceback" not in err, err
        # the first daemon and its container are untouched
        assert _ping(d.socket)
        assert os.path.exists(f"/proc/{pid}")
        state = json.loads(d.docker("inspect", n).stdout)[0]["State"]
        assert state["Running"] is True and state["Pid"] == pid
        p = d.docker("run", "--rm", "busybox", "echo", "still")
        assert (p.returncode, p.stdout) == (0, b"still\n"), p.stderr
    finally:
        d.docker("rm", "-f", n)


def test_second_daemon_other_roots_same_socket_refuses(daemon, tmp_path):
    p = subprocess.run(
        _dockyardd("-H", daemon.host, "--data-root", str(tmp_path / "data"),
                   "--exec-root", str(tmp_path / "exec"), "--config-file", str(daemon.config_file)),
        capture_output=True, timeout=60, cwd=REPO)
    # whatever it started on its own roots must not outlive it
    sup = tmp_path / "exec" / "supervisor.pid"
    for f in (sup, tmp_path / "exec" / "supervisor.lock"):
        try:
            os.kill(int(f.read_text()), signal.SIGKILL)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass
    err = p.stderr.decode()
    assert p.returncode != 0, err
    assert "already" in err and daemon.socket in err, err
    assert _ping(daemon.socket)


# -- the event loop stays free --------------------------------------------------------------
def _big_tar(directory: Path, total: int = 200 * 1024 * 1024, files: int = 50) -> Path:
    path = directory / "big.tar"
    size = total // files
    with tarfile.open(path, "w") as tf:
        for i in range(files):
            src = directory / f"f{i}"
            with open(src, "wb") as f:
                f.write(os.urandom(size))
            tf.add(src, arcname=f"data/f{i}.bin")
            src.unlink()
    return path


def test_ping_answers_during_big_import(daemon, tmp_path):
    tar_path = _big_tar(tmp_path)
    repo = f"big-{uuid.uuid4().hex[:8]}"
    result: dict = {}

    def upload() -> None:
        conn = UnixConnection(daemon.socket, timeout=600)
        try:
            size = tar_path.stat().st_size
            conn.putrequest("POST", f"/v1.41/images/create?fromSrc=-&repo={repo}&tag=latest")
            conn.putheader("Content-Type", "application/x-tar")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            with open(tar_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    conn.send(chunk)
                    result["sent"] = result.get("sent", 0) + len(chunk)
            r = conn.getresponse()
            result["status"], result["body"] = r.status, r.read()
        except Exception as e:  # reported by the main thread
            result["error"] = e
        finally:
            conn.close()

    t = threading.Thread(target=upload)
    t.start()
    latencies = []
    try:
        while t.is_alive():
            start = time.monotonic()
            status, body, _ = call(daemon, "GET", "/_ping", timeout=30)
            latencies.append(time.monotonic() - start)
            assert (status, body) == (200, b"OK")
            time.sleep(0.05)
        t.join()
        assert "error" not in result, result
        assert result["status"] == 200, result
        assert len(latencies) >= 3, "the import finished before it could be measured"
        print(f"\n/_ping during a 200 MB import: n={len(latencies)} max={max(latencies) * 1000:.0f} ms "
              f"median={sorted(latencies)[len(latencies) // 2] * 1000:.0f} ms")
        assert max(latencies) < 2.0, latencies
        status, body, _ = call(daemon, "GET", f"/v1.41/images/{repo}:latest/json")
        assert status == 200, body
    finally:
        t.join(600)
        call(daemon, "DELETE", f"/v1.41/images/{repo}:latest?force=1")


def test_second_daemon_does_not_disturb_an_import_in_flight(fresh_daemon, tmp_path):
    """A refused second daemon must refuse before it touches the roots (Docker's pidfile comes first)."""
    d = fresh_daemon
    tar_path = _big_tar(tmp_path, total=200 * 1024 * 1024, files=400)
    repo = f"race-{uuid.uuid4().hex[:8]}"
    result: dict = {}

    def upload() -> None:
        conn = UnixConnection(d.socket, timeout=600)
        try:
            conn.putrequest("POST", f"/v1.41/images/create?fromSrc=-&repo={repo}&tag=latest")
            conn.putheader("Content-Type", "application/x-tar")
            conn.putheader("Content-Length", str(tar_path.stat().st_size))
            conn.endheaders()
            with open(tar_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    conn.send(chunk)
            result["sent"] = True
            r = conn.getresponse()
            result["status"], result["body"] = r.status, r.read()
        except Exception as e:
            result["error"] = e
        finally:
            conn.close()

    t = threading.Thread(target=upload)
    t.start()
    refusals = []
    try:
        while t.is_alive():
            if result.get("sent"):  # the daemon is unpacking now
                p = subprocess.run(
                    _dockyardd("-H", d.host, "--data-root", str(d.data_root),
                               "--exec-root", str(d.exec_root), "--config-file", str(d.config_file)),
                    capture_output=True, timeout=60, cwd=REPO)
                refusals.append(p.returncode)
            else:
                time.sleep(0.05)
        t.join()
        assert refusals and all(rc != 0 for rc in refusals), refusals
        assert "error" not in result, result
        assert result["status"] == 200, result
        last = json.loads(result["body"].splitlines()[-1])
        assert "error" not in last, last
        status, body, _ = call(d, "GET", f"/v1.41/images/{repo}:latest/json")
        assert status == 200, body
        # the layer is whole: export of a container made from it has all 400 files
        out = d.docker("create", "--name", repo, f"{repo}:latest", "x")
        assert out.returncode == 0, out.stderr
        exp = subprocess.run(["docker", "export", repo], env=d.env, capture_output=True, timeout=120)
        assert exp.returncode == 0, exp.stderr[-500:]
        import io
        with tarfile.open(fileobj=io.BytesIO(exp.stdout)) as tf:
            names = [m.name for m in tf if m.name.startswith("data/")]
        assert len(names) == 400, len(names)
    finally:
        t.join(600)
        d.docker("rm", "-f", repo)
        call(d, "DELETE", f"/v1.41/images/{repo}:latest?force=1")
