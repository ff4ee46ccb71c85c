"""The API's HTTP limits (issue 14): header size (431 past Go's 1 MiB), bodies read whole (413),
idle and slow clients closed after their timeouts, and a slowloris of 500 half-open connections
that does not starve the API: /_ping is answered while they are held open."""
from __future__ import annotations

import json
import os
import socket
import subprocess

import docker
import pytest

from tests.support.daemon import TestDaemon


def _connect(path: str, timeout: float = 30) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


def _response(s: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        more = s.recv(65536)
        if not more:
            break
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        more = s.recv(65536)
        if not more:
            break
        body += more
    return int(head.split()[1]), body


def _ping_ok(path: str) -> bool:
    with _connect(path) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        return _response(s) == (200, b"OK")


def test_headers_past_1_mib_get_431(daemon):
    with _connect(daemon.socket) as s:
        try:
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n")
        except BrokenPipeError:
            pass  # the daemon answered and closed before the rest was sent, as Go's server does
        status, body = _response(s)
    assert status == 431
    assert "header fields too large" in json.loads(body)["message"]
    with _connect(daemon.socket) as s:  # big but within the limit
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nX-Big: " + b"a" * (900 << 10) + b"\r\n\r\n")
        assert _response(s) == (200, b"OK")


def test_a_body_past_what_the_endpoint_reads_gets_413_before_it_is_sent(daemon):
    with _connect(daemon.socket) as s:
        # only the head: the daemon answers from Content-Length and closes, unread body and all
        s.sendall(b"POST /v1.41/containers/create HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 104857600\r\n\r\n{")
        status, body = _response(s)
        assert status == 413
        assert "request body too large" in json.loads(body)["message"]
        assert s.recv(10) == b""
    client = docker.APIClient(base_url=daemon.host, version="1.41")
    try:
        with pytest.raises(docker.errors.APIError) as info:
            client.create_container("busybox", ["true"], labels={"big": "x" * (17 << 20)})
        assert info.value.status_code == 413
    finally:
        client.close()


def test_keep_alive_serves_many_requests_on_one_connection(daemon):
    with _connect(daemon.socket) as s:
        for _ in range(3):
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
            assert _response(s) == (200, b"OK")


def _still_open(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.settimeout(30)


def test_a_slowloris_of_500_half_open_connections_does_not_starve_the_api(daemon):
    held = []
    try:
        for i in range(500):
            s = _connect(daemon.socket)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\nX-Slow-" + str(i).encode() + b": ")
            held.append(s)
        # while every one of them is held open: ping, a real client, the docker CLI
        assert _ping_ok(daemon.socket)
        client = docker.DockerClient(base_url=daemon.host, version="1.41", timeout=30)
        try:
            assert client.ping()
            assert client.containers.run("busybox", ["echo", "served"], remove=True) == b"served\n"
        finally:
            client.close()
        r = daemon.docker("version", "--format", "{{.Server.APIVersion}}", timeout=30)
        assert r.returncode == 0 and r.stdout.strip() == b"1.41", r.stderr
        assert all(_still_open(s) for s in held)  # the attack really held its connections
    finally:
        for s in held:
            s.close()
    assert _ping_ok(daemon.socket)


@pytest.fixture(scope="module")
def short_timeouts():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = TestDaemon(extra_config={"http-idle-timeout": 1, "http-header-timeout": 1})
    try:
        d.start()
        yield d
    finally:
        d.cleanup()


def test_a_client_that_never_finishes_its_headers_is_closed(short_timeouts):
    with _connect(short_timeouts.socket) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n")
        assert s.recv(10) == b""  # closed by the daemon (the recv waits at most 30 s)


def test_an_idle_keep_alive_connection_is_closed(short_timeouts):
    with _connect(short_timeouts.socket) as s:
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n")
        assert _response(s) == (200, b"OK")
        assert s.recv(10) == b""


def test_a_silent_connection_is_closed_and_others_are_served(short_timeouts):
    silent = _connect(short_timeouts.socket)
    try:
        assert _ping_ok(short_timeouts.socket)
        assert silent.recv(10) == b""
    finally:
        silent.close()


def test_a_bad_timeout_in_daemon_json_is_refused(tmp_path):
    d = TestDaemon(base=tmp_path, extra_config={"http-header-timeout": "soon"})
    proc = subprocess.run(["python3", "-m", "dockyard.daemon.main", "-H", d.host, "--data-root", str(d.data_root),
                           "--exec-root", str(d.exec_root), "--config-file", str(d.config_file)],
                          capture_output=True, timeout=60, cwd=str(__import__("tests.support.daemon").support.daemon.REPO))
    assert proc.returncode != 0
    assert b"http-header-timeout must be a positive number of seconds" in proc.stderr
